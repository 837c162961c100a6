package live

import (
	"context"
	"errors"
	"sync"
)

// service is the hub's running state, River-style: Start starts the
// goroutines, Stop ends them and waits.
type service struct {
	mu      sync.Mutex
	cancel  context.CancelFunc
	stopped chan struct{}
}

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("live hub already started")

// Start opens the LISTEN connection, waits until it listens, and starts the
// goroutines that receive notifications and load what they announce. They
// run until Stop is called or ctx ends; then every subscription is ended
// with ErrClosed. After a lost connection the listener reconnects and
// replays from the database what it may have missed.
func (h *Hub) Start(ctx context.Context) error {
	h.state.mu.Lock()
	defer h.state.mu.Unlock()
	if h.state.stopped != nil {
		return ErrStarted
	}
	listener, events, err := h.openListener(ctx)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	h.state.cancel, h.state.stopped = cancel, stopped

	var running sync.WaitGroup
	running.Go(func() { h.listen(runCtx, listener, events) })
	for range h.cfg.Workers {
		running.Go(func() { h.runWorker(runCtx) })
	}
	go func() {
		running.Wait()
		// No worker publishes any more: end the subscriptions, then wait
		// for the replays they had in flight.
		h.closeAll()
		h.replays.Wait()
		close(stopped)
	}()
	return nil
}

// Stop ends the hub's goroutines and every subscription (with ErrClosed),
// and returns once they are all done. It is safe to call before Start, and
// more than once.
func (h *Hub) Stop() {
	h.state.mu.Lock()
	cancel, stopped := h.state.cancel, h.state.stopped
	h.state.mu.Unlock()
	if stopped == nil {
		return
	}
	cancel()
	<-stopped
}

// Stopped is closed once the hub has stopped (after Stop, or when the
// context given to Start ended); nil before Start.
func (h *Hub) Stopped() <-chan struct{} {
	h.state.mu.Lock()
	defer h.state.mu.Unlock()
	return h.state.stopped
}
