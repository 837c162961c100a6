// Package live pushes committed segment runs to subscribers. Each process
// holds one LISTEN connection (see Hub); a notification names a run, the
// process loads that run's delta once and fans it out to its local
// subscribers, each through a bounded buffer. Subscribers that resume from a
// sequence number get the runs they missed replayed from the database first.
package live

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/ent"
)

// InlineUsers is how many entered and exited users a Change carries; the
// rest are paged from the run.
const InlineUsers = 1000

// DefaultBuffer is how many undelivered messages a subscriber may have
// before it is dropped as too slow.
const DefaultBuffer = 256

// Change is one committed run of a segment. It is loaded once per process
// and shared, read-only, by every subscriber that receives it.
type Change struct {
	ProjectID    int
	Segment      *ent.Segment
	Run          *ent.SegmentRun
	Seq          int
	Size         int
	EnteredCount int
	ExitedCount  int
	// Entered and Exited are the first InlineUsers users of each side, by id.
	Entered     []*ent.User
	Exited      []*ent.User
	CommittedAt time.Time

	renders sync.Map // key → *rendering
}

// rendering is one memoized rendering of a change.
type rendering struct {
	mu    sync.Mutex
	done  bool
	value any
}

// Rendered returns render's result for key, calling render once per key
// however many subscribers ask (the others wait for it): subscribers that
// select the same fields of the same change get the same bytes, so a
// transport renders a change once per distinct operation instead of once
// per subscriber. A nil result (the renderer gave up) is not kept.
func (c *Change) Rendered(key string, render func() any) any {
	v, _ := c.renders.LoadOrStore(key, &rendering{})
	r := v.(*rendering)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return r.value
	}
	value := render()
	if value != nil {
		r.value, r.done = value, true
	}
	return value
}

// RunState is a run as it was read after one of its state changes.
type RunState struct {
	Run *ent.SegmentRun
	// Final is set when no further state follows: the run completed, or it
	// failed on its last attempt.
	Final bool
}

// ErrSlowConsumer ends a subscription whose buffer filled up: the client
// was not reading fast enough. A SlowConsumerError carries where to resume.
var ErrSlowConsumer = errors.New("slow consumer")

// SlowConsumerError is why a subscriber was dropped and where it may resume.
type SlowConsumerError struct {
	Buffer int
	// AfterSeq is the last seq delivered to it, per segment (for a single
	// segment subscription, its only entry).
	AfterSeq map[int]int
}

func (e *SlowConsumerError) Error() string {
	if len(e.AfterSeq) == 1 {
		for _, seq := range e.AfterSeq {
			return fmt.Sprintf("slow consumer: %d undelivered messages; resubscribe with afterSeq %d", e.Buffer, seq)
		}
	}
	return fmt.Sprintf("slow consumer: %d undelivered messages; resubscribe", e.Buffer)
}

func (e *SlowConsumerError) Unwrap() error { return ErrSlowConsumer }

// ErrClosed ends subscriptions when the hub shuts down.
var ErrClosed = errors.New("live updates are shutting down")
