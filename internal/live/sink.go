package live

import (
	"context"
	"sync"
)

// Sink is where the hub delivers one subscription's items, in order. The
// hub never calls a sink's methods concurrently for one subscription, and
// may call Offer before the Subscribe call that registered it returns.
type Sink[T any] interface {
	// Offer queues item without blocking (it may write it out, with I/O
	// that never waits; the hub calls Offer of different subscriptions from
	// several goroutines at once). It returns false when the
	// subscriber's queue is full: the hub then ends the subscription as a
	// slow consumer (End with a *SlowConsumerError).
	Offer(item T) bool
	// Send queues item, waiting while the queue is full: replays from the
	// database are paced by the reader rather than dropped. It returns
	// ctx's error when ctx ends first.
	Send(ctx context.Context, item T) error
	// End is called at most once, last, when the hub ends the subscription:
	// err is nil when the stream is complete (a run's final state), else
	// why it ended (*SlowConsumerError, ErrClosed, a failed load). It is
	// not called after Subscription.Close.
	End(err error)
}

// Subscription is one registered subscriber.
type Subscription struct {
	close func()
}

// Close unregisters the subscriber; its sink hears nothing more (End is
// not called). Safe to call more than once and after the hub ended it.
func (s *Subscription) Close() { s.close() }

// Stream is a Sink read from a channel, for a reader that has a goroutine
// of its own anyway (Server-Sent Events, tests): C delivers in order and is
// closed, after what was queued, when the hub ends the stream; Err then
// says why.
type Stream[T any] struct {
	// C delivers the items.
	C <-chan T
	c chan T

	mu  sync.Mutex
	err error
}

var _ Sink[*Change] = (*Stream[*Change])(nil)

// NewStream returns a stream that holds up to buffer undelivered items.
func NewStream[T any](buffer int) *Stream[T] {
	c := make(chan T, buffer)
	return &Stream[T]{C: c, c: c}
}

// Offer implements Sink.
func (s *Stream[T]) Offer(item T) bool {
	select {
	case s.c <- item:
		return true
	default:
		return false
	}
}

// Send implements Sink.
func (s *Stream[T]) Send(ctx context.Context, item T) error {
	select {
	case s.c <- item:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// End implements Sink.
func (s *Stream[T]) End(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.c)
}

// Err is why the hub ended the stream; read it after C is closed.
func (s *Stream[T]) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
