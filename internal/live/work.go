package live

import (
	"context"
	"sync"
	"time"
)

// workQueue is what notifications announced and workers have yet to load.
// The LISTEN loop only records here (no I/O), so it never falls behind its
// connection; notifications that arrive before a worker gets to them
// coalesce: a segment's runs up to the highest announced seq are loaded in
// one go, a run's state is read once.
type workQueue struct {
	mu       sync.Mutex
	segments map[segmentKey]segmentWork
	runs     map[int]runWork
	resync   bool
	// busy is what workers are loading now: a segment is loaded by one
	// worker at a time, so its runs are published in order.
	busySegments map[segmentKey]bool
	busyRuns     map[int]bool
	busyResync   bool
	wake         chan struct{}
}

type segmentKey struct{ projectID, segmentID int }

type segmentWork struct {
	seq       int
	announced time.Time
}

type runWork struct {
	projectID int
	// final is the latest FAILED notification's verdict; nil otherwise.
	final     *bool
	announced time.Time
}

// job is one unit of work a worker took; exactly one part is set.
type job struct {
	segment *segmentKey
	seg     segmentWork
	runID   int
	run     runWork
	resync  bool
}

func newWorkQueue() *workQueue {
	return &workQueue{
		segments:     map[segmentKey]segmentWork{},
		runs:         map[int]runWork{},
		busySegments: map[segmentKey]bool{},
		busyRuns:     map[int]bool{},
		wake:         make(chan struct{}, 1),
	}
}

func (q *workQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// addSegment notes that the segment has committed runs up to seq.
func (q *workQueue) addSegment(k segmentKey, seq int, at time.Time) {
	q.mu.Lock()
	w, ok := q.segments[k]
	w.seq = max(w.seq, seq)
	if !ok {
		w.announced = at
	}
	q.segments[k] = w
	q.mu.Unlock()
	q.signal()
}

// addRun notes that a run changed state.
func (q *workQueue) addRun(projectID, runID int, final *bool, at time.Time) {
	q.mu.Lock()
	w, ok := q.runs[runID]
	w.projectID, w.final = projectID, final
	if !ok {
		w.announced = at
	}
	q.runs[runID] = w
	q.mu.Unlock()
	q.signal()
}

// addResync asks for a comparison with the database: notifications may
// have been lost.
func (q *workQueue) addResync() {
	q.mu.Lock()
	q.resync = true
	q.mu.Unlock()
	q.signal()
}

// next blocks until there is work no other worker holds, or ctx ends.
func (q *workQueue) next(ctx context.Context) (job, bool) {
	for {
		q.mu.Lock()
		j, ok := q.takeLocked()
		more := ok && q.pendingLocked()
		q.mu.Unlock()
		if more {
			q.signal() // another worker may take the rest
		}
		if ok {
			return j, true
		}
		select {
		case <-ctx.Done():
			return job{}, false
		case <-q.wake:
		}
	}
}

func (q *workQueue) takeLocked() (job, bool) {
	if q.resync && !q.busyResync {
		q.resync, q.busyResync = false, true
		return job{resync: true}, true
	}
	for k, w := range q.segments {
		if !q.busySegments[k] {
			delete(q.segments, k)
			q.busySegments[k] = true
			return job{segment: &k, seg: w}, true
		}
	}
	for id, w := range q.runs {
		if !q.busyRuns[id] {
			delete(q.runs, id)
			q.busyRuns[id] = true
			return job{runID: id, run: w}, true
		}
	}
	return job{}, false
}

func (q *workQueue) pendingLocked() bool {
	if q.resync && !q.busyResync {
		return true
	}
	for k := range q.segments {
		if !q.busySegments[k] {
			return true
		}
	}
	for id := range q.runs {
		if !q.busyRuns[id] {
			return true
		}
	}
	return false
}

// done releases what j held: work that arrived for it meanwhile may be
// taken now.
func (q *workQueue) done(j job) {
	q.mu.Lock()
	switch {
	case j.resync:
		q.busyResync = false
	case j.segment != nil:
		delete(q.busySegments, *j.segment)
	default:
		delete(q.busyRuns, j.runID)
	}
	q.mu.Unlock()
	q.signal()
}

// runWorker loads what notifications announced until ctx ends.
func (h *Hub) runWorker(ctx context.Context) {
	for {
		j, ok := h.work.next(ctx)
		if !ok {
			return
		}
		switch {
		case j.resync:
			h.resync(ctx)
		case j.segment != nil:
			h.committed(ctx, j.segment.projectID, j.segment.segmentID, j.seg.seq, j.seg.announced)
		default:
			if h.hasRunSubscribers(j.runID) {
				h.runChanged(ctx, j.run.projectID, j.runID, j.run.final, j.run.announced)
			}
		}
		h.work.done(j)
	}
}

// committed publishes the runs of a segment up to seq that this process has
// not published yet, loading each once.
func (h *Hub) committed(ctx context.Context, projectID, segmentID, seq int, announced time.Time) {
	for {
		last, subscribed := h.lastSeq(projectID, segmentID)
		if !subscribed || seq <= last {
			return
		}
		changes, err := h.load.changes(ctx, projectID, segmentID, last, seq)
		if err != nil {
			if ctx.Err() == nil {
				h.cfg.Logger.Error("live: load committed runs", "segment_id", segmentID, "seq", seq, "err", err)
			}
			return
		}
		if len(changes) == 0 {
			return
		}
		for _, c := range changes {
			c.Announced = announced
			h.publish(c)
		}
	}
}

func (h *Hub) runChanged(ctx context.Context, projectID, runID int, final *bool, announced time.Time) {
	st, err := h.load.runState(ctx, projectID, runID, final)
	if err != nil {
		if ctx.Err() == nil {
			h.cfg.Logger.Error("live: load run", "run_id", runID, "err", err)
		}
		return
	}
	st.Announced = announced
	h.publishRun(projectID, st)
}

// resync catches up after notifications may have been lost: every segment
// of a subscribed project whose latest committed run is past what was
// published, and the current state of every followed run.
func (h *Hub) resync(ctx context.Context) {
	if projects := h.subscribedProjects(); len(projects) > 0 {
		latest, err := h.load.latestRuns(ctx, projects)
		if err != nil && ctx.Err() == nil {
			h.cfg.Logger.Error("live: resync", "err", err)
		}
		for _, r := range latest {
			h.committed(ctx, r.projectID, r.segmentID, r.seq, time.Time{})
		}
	}
	for runID, projectID := range h.subscribedRuns() {
		h.runChanged(ctx, projectID, runID, nil, time.Time{})
	}
}
