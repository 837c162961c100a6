// Package live pushes committed segment runs to subscribers. Each process
// holds one LISTEN connection (see Hub); a notification names a run, a
// worker of the hub loads that run's delta once and hands it to every local
// subscriber's Sink without blocking. Subscribers that resume from a
// sequence number get the runs they missed replayed from the database
// first. No goroutine waits on behalf of an idle subscriber: the hub calls
// into sinks, and a goroutine exists only while a replay is being read.
package live

import (
	"errors"
	"fmt"
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
	// Announced is when this process received the notification that
	// announced the run; zero for a run replayed from the database. The
	// fan-out latency is measured from it.
	Announced time.Time
}

// RunState is a run as it was read after one of its state changes.
type RunState struct {
	Run *ent.SegmentRun
	// Final is set when no further state follows: the run completed, or it
	// failed on its last attempt.
	Final bool
	// Announced is as Change's: zero for the state read at subscription.
	Announced time.Time
}

// ErrSlowConsumer ends a subscription whose buffer filled up: the client
// was not reading fast enough. A SlowConsumerError carries where to resume.
var ErrSlowConsumer = errors.New("slow consumer")

// SlowConsumerError is why a subscriber was dropped and where it may resume.
type SlowConsumerError struct {
	Buffer int
	// AfterSeq is the last seq handed to its sink, per segment (for a
	// single segment subscription, its only entry). A sink that loses what
	// it had queued (a closed socket) reports its own.
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
