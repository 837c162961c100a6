package live

import (
	"context"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
)

// SubscribeRun delivers a run's states to sink: the current one first,
// then each change, ending (End(nil)) after the final state: completed, or
// failed with no retry left. It returns the error of loading the run, e.g.
// ent's not-found for a run of another project.
func (h *Hub) SubscribeRun(ctx context.Context, projectID, runID int, sink Sink[*RunState]) (*Subscription, error) {
	s := &runSub{hub: h, projectID: projectID, runID: runID, sink: sink, loading: true}
	if err := h.addRun(s); err != nil {
		return nil, err
	}
	// Read after registering, so no state change falls between the two;
	// states announced meanwhile wait until the current one is handed over.
	current, err := h.load.runState(ctx, projectID, runID, nil)
	if err != nil {
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
		h.removeRun(s)
		return nil, err
	}
	s.mu.Lock()
	s.loading = false
	early := s.early
	s.early = nil
	s.mu.Unlock()
	s.offer(current)
	if early != nil {
		s.offer(early)
	}
	return &Subscription{close: s.close}, nil
}

// runSub is one subscriber of a run's states.
type runSub struct {
	hub              *Hub
	projectID, runID int
	sink             Sink[*RunState]

	mu sync.Mutex
	// loading is set until the current state is read; early is the newest
	// state announced meanwhile.
	loading bool
	early   *RunState
	sent    *RunState
	ended   bool
}

func (s *runSub) offer(st *RunState) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	if s.loading {
		if s.early == nil || newer(st, s.early) {
			s.early = st
		}
		s.mu.Unlock()
		return
	}
	// States read before the first one may arrive after it.
	if s.sent != nil && !newer(st, s.sent) {
		s.mu.Unlock()
		return
	}
	if !s.sink.Offer(st) {
		s.ended = true
		s.mu.Unlock()
		s.hub.removeRun(s)
		s.hub.cfg.OnSlowConsumer()
		s.sink.End(&SlowConsumerError{Buffer: s.hub.cfg.Buffer})
		return
	}
	s.sent = st
	if !st.Final {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.mu.Unlock()
	s.hub.removeRun(s)
	s.sink.End(nil)
}

// end is the hub ending the subscription.
func (s *runSub) end(err error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.mu.Unlock()
	s.hub.removeRun(s)
	s.sink.End(err)
}

func (s *runSub) close() {
	s.mu.Lock()
	ended := s.ended
	s.ended = true
	s.mu.Unlock()
	if !ended {
		s.hub.removeRun(s)
	}
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
