package live

import (
	"context"
	"errors"
	"time"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
)

// SubscribeRun streams a run's states: the current one first, then each
// change, ending after the final state (completed, or failed with no retry
// left). It returns the error of loading the run, e.g. ent's not-found for
// a run of another project.
func (h *Hub) SubscribeRun(ctx context.Context, projectID, runID int, onEnd OnEnd) (*Stream[*RunState], error) {
	sub := &runSub{dropper: newDropper(), projectID: projectID, runID: runID, inbox: make(chan *RunState, h.cfg.Buffer)}
	if err := h.addRun(sub); err != nil {
		return nil, err
	}
	// Read after registering, so no state change falls between the two.
	current, err := h.load.runState(ctx, projectID, runID, nil)
	if err != nil {
		h.removeRun(sub)
		return nil, err
	}
	out := make(chan *RunState)
	stream := &Stream[*RunState]{C: out}
	go func() {
		defer close(out)
		defer h.removeRun(sub)
		stream.end(pumpRun(ctx, sub, current, out), onEnd)
	}()
	return stream, nil
}

func pumpRun(ctx context.Context, sub *runSub, current *RunState, out chan<- *RunState) error {
	sent := current
	if err := sendRun(ctx, sub, out, current); err != nil {
		return err
	}
	for !sent.Final {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.kicked:
			return endedRun(ctx, sub, sub.reason)
		case st := <-sub.inbox:
			// States read before the first one may arrive after it.
			if !newer(st, sent) {
				continue
			}
			if err := sendRun(ctx, sub, out, st); err != nil {
				return endedRun(ctx, sub, err)
			}
			sent = st
		}
	}
	return nil
}

func sendRun(ctx context.Context, sub *runSub, out chan<- *RunState, st *RunState) error {
	select {
	case out <- st:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-sub.kicked:
		return sub.reason
	}
}

func endedRun(ctx context.Context, sub *runSub, err error) error {
	if ctx.Err() != nil {
		return nil //nolint:nilerr // the subscriber went away: not an error of the stream
	}
	if errors.Is(err, ErrSlowConsumer) {
		return &SlowConsumerError{Buffer: cap(sub.inbox)}
	}
	return err
}

// newer orders two reads of one run. A run only moves forward within an
// attempt (PENDING, RUNNING, then COMPLETED or FAILED) and a retry starts
// after the failure it follows, so the latest of its timestamps, then its
// status, tell which read is later.
func newer(a, b *RunState) bool {
	ta, tb := latest(a), latest(b)
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	if rank(a) != rank(b) {
		return rank(a) > rank(b)
	}
	return a.Final && !b.Final
}

func latest(st *RunState) time.Time {
	t := st.Run.CreatedAt
	if st.Run.StartedAt != nil && st.Run.StartedAt.After(t) {
		t = *st.Run.StartedAt
	}
	if st.Run.FinishedAt != nil && st.Run.FinishedAt.After(t) {
		t = *st.Run.FinishedAt
	}
	return t
}

func rank(st *RunState) int {
	switch st.Run.Status {
	case segmentrun.StatusPENDING:
		return 0
	case segmentrun.StatusRUNNING:
		return 1
	default:
		return 2
	}
}
