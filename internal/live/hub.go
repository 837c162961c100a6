package live

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/ent"
)

// Config configures a Hub.
type Config struct {
	// DSN is the database the LISTEN connection opens; the same database
	// as db.
	DSN    string
	Logger *slog.Logger
	// Buffer is how many undelivered messages a subscriber may have before
	// it is dropped; default DefaultBuffer. Sinks size their queues by it
	// (see Hub.Buffer).
	Buffer int
	// Workers is how many notifications are loaded at once; default
	// DefaultWorkers. One segment's runs are always loaded by one worker at
	// a time, in order.
	Workers int
	// OnReconnect is called each time the LISTEN connection is re-established
	// after a loss (for metrics).
	OnReconnect func()
	// OnSubscribers is called with +1 and -1 as subscribers come and go.
	OnSubscribers func(delta int)
	// OnSlowConsumer is called each time a subscriber is dropped as too slow.
	OnSlowConsumer func()
	// OnSent is called by transports (through Hub.Sent) each time a
	// message is written to a subscriber.
	OnSent func()
	// OnFanOut is called with OnSent for a message a notification
	// announced (not a replay), with the time since the notification
	// arrived.
	OnFanOut func(time.Duration)
}

// DefaultWorkers is how many notifications a hub loads at once by default.
const DefaultWorkers = 4

// Hub is a process's fan-out of committed runs to its subscribers. It is
// safe for concurrent use. Start runs its listener and workers; Stop ends
// them and every subscription.
//
// Its lock only guards who is subscribed: the database is read outside it,
// by the subscribing goroutine (a project's baseline, a run's current
// state) or by a worker (what a notification announced), never while it is
// held, so one project's slow read holds up no other project.
type Hub struct {
	cfg   Config
	load  loader
	work  *workQueue
	state service

	mu       sync.Mutex
	projects map[int]*projectSubs
	runs     map[int]map[*runSub]struct{}
	closed   bool
	// replays counts the goroutines reading replays, which Stop waits for;
	// added to only under mu while the hub is open.
	replays sync.WaitGroup
}

// projectSubs are the change subscribers of one project, with the last seq
// this process published for each of its segments. Seqs are tracked only
// while a project has subscribers; the first one loads them (the baseline),
// so a run whose notification was lost is found by comparing with the
// database.
type projectSubs struct {
	// ready is closed once lastSeq is loaded (or failed, with err).
	ready   chan struct{}
	err     error
	lastSeq map[int]int
	// bySegment holds the subscribers of one segment, all those of every
	// segment of the project (segmentsChanged).
	bySegment map[int]map[*changeSub]struct{}
	all       map[*changeSub]struct{}
	count     int
}

// NewHub returns a Hub over db; client reads runs, segments and users.
func NewHub(db *sql.DB, client *ent.Client, cfg Config) *Hub {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	for _, hook := range []*func(){&cfg.OnReconnect, &cfg.OnSlowConsumer, &cfg.OnSent} {
		if *hook == nil {
			*hook = func() {}
		}
	}
	if cfg.OnSubscribers == nil {
		cfg.OnSubscribers = func(int) {}
	}
	if cfg.OnFanOut == nil {
		cfg.OnFanOut = func(time.Duration) {}
	}
	return &Hub{
		cfg:      cfg,
		load:     loader{db: db, client: client},
		work:     newWorkQueue(),
		projects: map[int]*projectSubs{},
		runs:     map[int]map[*runSub]struct{}{},
	}
}

// Buffer is how many undelivered messages a subscriber may have before it
// is dropped as too slow: the size of a sink's queue.
func (h *Hub) Buffer() int { return h.cfg.Buffer }

// Sent records that a message was written to a subscriber: announced is
// its Change's or RunState's Announced, from which the fan-out latency is
// measured (replays, with a zero time, are not fan-out).
func (h *Hub) Sent(announced time.Time) {
	h.cfg.OnSent()
	if !announced.IsZero() {
		h.cfg.OnFanOut(time.Since(announced))
	}
}

// addChange registers a change subscriber. The project's first subscriber
// loads its baseline seqs, outside the lock; subscribers arriving
// meanwhile wait for it.
func (h *Hub) addChange(ctx context.Context, s *changeSub) error {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return ErrClosed
		}
		p := h.projects[s.projectID]
		if p == nil {
			p = &projectSubs{ready: make(chan struct{}), bySegment: map[int]map[*changeSub]struct{}{}, all: map[*changeSub]struct{}{}}
			h.projects[s.projectID] = p
			h.mu.Unlock()
			last, err := h.load.lastSeqs(ctx, s.projectID)
			h.mu.Lock()
			p.lastSeq, p.err = last, err
			if err != nil && h.projects[s.projectID] == p {
				delete(h.projects, s.projectID)
			}
			close(p.ready)
			if err != nil {
				h.mu.Unlock()
				return err
			}
		}
		select {
		case <-p.ready:
		default:
			h.mu.Unlock()
			select {
			case <-p.ready:
			case <-ctx.Done():
				return ctx.Err()
			}
			continue // the project may have gone, or failed, meanwhile
		}
		if p.err != nil {
			h.mu.Unlock()
			return p.err
		}
		p.add(s)
		h.mu.Unlock()
		h.cfg.OnSubscribers(1)
		return nil
	}
}

func (p *projectSubs) add(s *changeSub) {
	set := p.all
	if s.segmentID != 0 {
		set = p.bySegment[s.segmentID]
		if set == nil {
			set = map[*changeSub]struct{}{}
			p.bySegment[s.segmentID] = set
		}
	}
	set[s] = struct{}{}
	p.count++
}

func (h *Hub) removeChange(s *changeSub) {
	h.mu.Lock()
	p := h.projects[s.projectID]
	removed := false
	if p != nil {
		set := p.all
		if s.segmentID != 0 {
			set = p.bySegment[s.segmentID]
		}
		if _, ok := set[s]; ok {
			delete(set, s)
			if len(set) == 0 && s.segmentID != 0 {
				delete(p.bySegment, s.segmentID)
			}
			p.count--
			removed = true
			if p.count == 0 {
				delete(h.projects, s.projectID)
			}
		}
	}
	h.mu.Unlock()
	if removed {
		h.cfg.OnSubscribers(-1)
	}
}

func (h *Hub) addRun(s *runSub) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.runs[s.runID] == nil {
		h.runs[s.runID] = map[*runSub]struct{}{}
	}
	h.runs[s.runID][s] = struct{}{}
	h.cfg.OnSubscribers(1)
	return nil
}

func (h *Hub) removeRun(s *runSub) {
	h.mu.Lock()
	subs := h.runs[s.runID]
	_, ok := subs[s]
	if ok {
		delete(subs, s)
		if len(subs) == 0 {
			delete(h.runs, s.runID)
		}
	}
	h.mu.Unlock()
	if ok {
		h.cfg.OnSubscribers(-1)
	}
}

// startReplay runs replay in a goroutine Stop waits for, unless the hub is
// closed.
func (h *Hub) startReplay(replay func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.replays.Add(1)
	go func() {
		defer h.replays.Done()
		replay()
	}()
	return true
}

// lastSeq is the seq this process last published for a segment, and
// whether its project has subscribers at all.
func (h *Hub) lastSeq(projectID, segmentID int) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[projectID]
	if p == nil || p.lastSeq == nil {
		return 0, false
	}
	return p.lastSeq[segmentID], true
}

// publish hands a change to every subscriber of its project (and segment).
// The subscribers are collected under the lock and offered the change
// outside it: a sink's Offer renders and queues, and must not hold up
// subscribing and unsubscribing.
func (h *Hub) publish(c *Change) {
	h.mu.Lock()
	p := h.projects[c.ProjectID]
	if p == nil || p.lastSeq == nil {
		h.mu.Unlock()
		return
	}
	if c.Seq > p.lastSeq[c.Segment.ID] {
		p.lastSeq[c.Segment.ID] = c.Seq
	}
	targets := make([]*changeSub, 0, len(p.bySegment[c.Segment.ID])+len(p.all))
	for s := range p.bySegment[c.Segment.ID] {
		targets = append(targets, s)
	}
	for s := range p.all {
		targets = append(targets, s)
	}
	h.mu.Unlock()
	fanOut(targets, c)
}

// publishRun hands a run's new state to its subscribers.
func (h *Hub) publishRun(projectID int, st *RunState) {
	h.mu.Lock()
	targets := make([]*runSub, 0, len(h.runs[st.Run.ID]))
	for s := range h.runs[st.Run.ID] {
		if s.projectID == projectID {
			targets = append(targets, s)
		}
	}
	h.mu.Unlock()
	fanOut(targets, st)
}

// hasRunSubscribers reports whether anyone here follows the run.
func (h *Hub) hasRunSubscribers(runID int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.runs[runID]) > 0
}

// subscribedProjects and subscribedRuns list what a resync must look at.
func (h *Hub) subscribedProjects() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]int, 0, len(h.projects))
	for id, p := range h.projects {
		if p.lastSeq != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

func (h *Hub) subscribedRuns() map[int]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	runs := map[int]int{}
	for runID, subs := range h.runs {
		for s := range subs {
			runs[runID] = s.projectID
			break
		}
	}
	return runs
}

// closeAll ends every subscription with ErrClosed and refuses new ones:
// the hub is stopping.
func (h *Hub) closeAll() {
	h.mu.Lock()
	h.closed = true
	var changes []*changeSub
	for _, p := range h.projects {
		for _, set := range p.bySegment {
			for s := range set {
				changes = append(changes, s)
			}
		}
		for s := range p.all {
			changes = append(changes, s)
		}
	}
	var runs []*runSub
	for _, subs := range h.runs {
		for s := range subs {
			runs = append(runs, s)
		}
	}
	h.mu.Unlock()
	for _, s := range changes {
		s.end(ErrClosed)
	}
	for _, s := range runs {
		s.end(ErrClosed)
	}
}
