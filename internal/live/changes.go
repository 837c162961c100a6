package live

import (
	"context"
	"maps"
	"sync"
)

// SubscribeSegment delivers the committed runs of one segment of the
// project to sink, in seq order, until the subscription is closed or the
// hub ends it. With afterSeq, the runs committed after it are replayed from
// the database first; delivery then continues live, and a run seen both
// ways is delivered once. The caller has checked that the segment belongs
// to the project; ctx bounds only the registration.
func (h *Hub) SubscribeSegment(ctx context.Context, projectID, segmentID int, afterSeq *int, sink Sink[*Change]) (*Subscription, error) {
	return h.subscribeChanges(ctx, projectID, segmentID, afterSeq, sink)
}

// SubscribeProject delivers the committed runs of every segment of the
// project to sink, each segment's in seq order.
func (h *Hub) SubscribeProject(ctx context.Context, projectID int, sink Sink[*Change]) (*Subscription, error) {
	return h.subscribeChanges(ctx, projectID, 0, nil, sink)
}

func (h *Hub) subscribeChanges(ctx context.Context, projectID, segmentID int, afterSeq *int, sink Sink[*Change]) (*Subscription, error) {
	s := &changeSub{hub: h, projectID: projectID, segmentID: segmentID, sink: sink}
	if afterSeq != nil {
		// Caught up before it is registered: live changes that arrive
		// meanwhile are only noted, and read from the database instead.
		s.last.set(segmentID, *afterSeq)
		s.behind = map[int]int{segmentID: 0}
	}
	if err := h.addChange(ctx, s); err != nil {
		return nil, err
	}
	if afterSeq != nil {
		s.mu.Lock()
		s.startCatchUpLocked()
		s.mu.Unlock()
	}
	return &Subscription{close: s.close}, nil
}

// changeSub is one subscriber of committed runs: of one segment, or of
// every segment of the project when segmentID is 0. It has no goroutine
// while it is live: publish offers it each change, and it passes the
// change on unless it was delivered already. A gap in seqs (a lost
// notification, a replay in progress) is filled from the database by a
// goroutine that lasts until it has caught up.
type changeSub struct {
	hub                  *Hub
	projectID, segmentID int
	sink                 Sink[*Change]

	// mu orders everything the sink is handed.
	mu sync.Mutex
	// last is the seq last handed to the sink, per segment.
	last seqs
	// behind is set while catching up: per segment, the highest seq
	// announced meanwhile (0: as far as the database has).
	behind map[int]int
	// stopReplay and replayDone are the latest replay's.
	stopReplay context.CancelFunc
	replayDone chan struct{}
	ended      bool
}

// offer is publish's: it delivers c in order, or notes it for the replay.
func (s *changeSub) offer(c *Change) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	seg := c.Segment.ID
	last, known := s.last.get(seg)
	switch {
	case s.behind != nil:
		if !known {
			s.last.set(seg, c.Seq-1)
		}
		s.behind[seg] = max(s.behind[seg], c.Seq)
		s.mu.Unlock()
		return
	case known && c.Seq <= last:
		s.mu.Unlock()
		return
	case known && c.Seq > last+1:
		s.behind = map[int]int{seg: c.Seq}
		s.startCatchUpLocked()
		s.mu.Unlock()
		return
	}
	if !s.sink.Offer(c) {
		// Ended under the lock, so that nothing later slips in after the
		// run that did not fit: the resume point must not skip it.
		err := &SlowConsumerError{Buffer: s.hub.cfg.Buffer, AfterSeq: s.last.all()}
		s.ended = true
		s.mu.Unlock()
		s.unregister()
		s.hub.cfg.OnSlowConsumer()
		s.sink.End(err)
		return
	}
	s.last.set(seg, c.Seq)
	s.mu.Unlock()
}

func (s *changeSub) startCatchUpLocked() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.stopReplay, s.replayDone = cancel, done
	if !s.hub.startReplay(func() {
		defer close(done)
		defer cancel()
		s.catchUp(ctx)
	}) {
		cancel()
		close(done)
	}
}

// catchUp reads from the database what the subscriber is behind on, one
// segment at a time, page by page, waiting for the sink to take each run;
// it ends when a read found nothing beyond what was announced meanwhile.
func (s *changeSub) catchUp(ctx context.Context) {
	for {
		s.mu.Lock()
		if s.ended {
			s.mu.Unlock()
			return
		}
		seg, ok := anyKey(s.behind)
		if !ok {
			s.behind, s.stopReplay, s.replayDone = nil, nil, nil
			s.mu.Unlock()
			return
		}
		after, _ := s.last.get(seg)
		s.mu.Unlock()
		changes, err := s.hub.load.changes(ctx, s.projectID, seg, after, 0)
		if err != nil {
			if ctx.Err() == nil && s.markEnded(false) {
				s.unregister()
				s.sink.End(err)
			}
			return
		}
		for _, c := range changes {
			// Nothing else hands this sink anything while it catches up.
			if err := s.sink.Send(ctx, c); err != nil {
				return // closed or ended meanwhile
			}
			s.mu.Lock()
			s.last.set(seg, c.Seq)
			s.mu.Unlock()
		}
		if len(changes) == replayPage {
			continue
		}
		s.mu.Lock()
		if last, _ := s.last.get(seg); s.behind[seg] <= last {
			delete(s.behind, seg)
		}
		s.mu.Unlock()
	}
}

func anyKey(m map[int]int) (int, bool) {
	for k := range m {
		return k, true
	}
	return 0, false
}

// end is the hub ending the subscription (it is stopping): the replay, if
// any, is stopped and waited for before the sink is told, so that End
// never overlaps a Send.
func (s *changeSub) end(err error) {
	if !s.markEnded(true) {
		return
	}
	s.unregister()
	s.sink.End(err)
}

// close is the subscriber leaving: no End.
func (s *changeSub) close() {
	if s.markEnded(true) {
		s.unregister()
	}
}

// markEnded ends the subscription once, stopping its replay (and, with
// waitReplay, waiting for it: not from the replay itself); only the first
// call reports true.
func (s *changeSub) markEnded(waitReplay bool) bool {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	s.ended = true
	stop, done := s.stopReplay, s.replayDone
	s.mu.Unlock()
	if stop != nil {
		stop()
		if waitReplay {
			<-done
		}
	}
	return true
}

func (s *changeSub) unregister() { s.hub.removeChange(s) }

// seqs maps segments to seqs, the first one inline: a segment's subscriber
// only ever has that one, and an idle subscriber should hold no map.
type seqs struct {
	segment, seq int
	set1         bool
	more         map[int]int
}

func (q *seqs) get(segment int) (int, bool) {
	if q.set1 && q.segment == segment {
		return q.seq, true
	}
	seq, ok := q.more[segment]
	return seq, ok
}

func (q *seqs) set(segment, seq int) {
	switch {
	case !q.set1 || q.segment == segment:
		q.segment, q.seq, q.set1 = segment, seq, true
	case q.more == nil:
		q.more = map[int]int{segment: seq}
	default:
		q.more[segment] = seq
	}
}

// all is a copy of every entry.
func (q *seqs) all() map[int]int {
	out := maps.Clone(q.more)
	if out == nil {
		out = map[int]int{}
	}
	if q.set1 {
		out[q.segment] = q.seq
	}
	return out
}
