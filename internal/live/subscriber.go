package live

import "sync"

// dropper ends a subscriber from the hub's side: closes its kicked channel
// once and remembers why.
type dropper struct {
	once   sync.Once
	kicked chan struct{}
	reason error
}

func newDropper() dropper { return dropper{kicked: make(chan struct{})} }

// drop is called with the hub's lock held, so it never blocks.
func (d *dropper) drop(reason error) {
	d.once.Do(func() {
		d.reason = reason
		close(d.kicked)
	})
}

// changeSub is one subscriber of committed runs: of one segment, or of
// every segment of the project when segmentID is 0.
type changeSub struct {
	dropper
	projectID, segmentID int
	inbox                chan *Change
}

// runSub is one subscriber of a run's states.
type runSub struct {
	dropper
	projectID, runID int
	inbox            chan *RunState
}

// Stream is what a subscriber reads: C delivers in order and is closed when
// the stream ends; Err then says why (nil when the caller's context ended
// or the stream was complete). When the stream ends with an error, the
// OnEnd hook given to the subscribe call runs before C is closed, so a
// transport can report it first.
type Stream[T any] struct {
	C   <-chan T
	err error
	mu  sync.Mutex
}

// Err is why the stream ended; read it after C is closed.
func (s *Stream[T]) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// OnEnd is told why a stream ended with an error, before its channel is
// closed; nil is fine.
type OnEnd func(error)

func (s *Stream[T]) end(err error, onEnd OnEnd) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	if err != nil && onEnd != nil {
		onEnd(err)
	}
}
