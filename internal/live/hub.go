package live

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"

	"github.com/pulse-analytics/pulse/ent"
)

// Config configures a Hub.
type Config struct {
	// DSN is the database the LISTEN connection opens; the same database
	// as db.
	DSN    string
	Logger *slog.Logger
	// Buffer is how many undelivered messages a subscriber may have before
	// it is dropped; default DefaultBuffer.
	Buffer int
	// OnReconnect is called each time the LISTEN connection is re-established
	// after a loss (for metrics).
	OnReconnect func()
	// OnSubscribers is called with +1 and -1 as subscribers come and go.
	OnSubscribers func(delta int)
}

// Hub is a process's fan-out of committed runs to its subscribers. It is
// safe for concurrent use; Start runs its listener.
type Hub struct {
	cfg  Config
	load loader

	mu       sync.Mutex
	projects map[int]*projectSubs
	runs     map[int]map[*runSub]struct{}
	closed   bool
}

// projectSubs are the change subscribers of one project, with the last seq
// this process published for each of its segments. Seqs are tracked only
// while a project has subscribers; the first one loads them (the baseline),
// so a run whose notification was lost is found by comparing with the
// database.
type projectSubs struct {
	subs    map[*changeSub]struct{}
	lastSeq map[int]int
}

// NewHub returns a Hub over db; client reads runs, segments and users.
func NewHub(db *sql.DB, client *ent.Client, cfg Config) *Hub {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.OnReconnect == nil {
		cfg.OnReconnect = func() {}
	}
	if cfg.OnSubscribers == nil {
		cfg.OnSubscribers = func(int) {}
	}
	return &Hub{
		cfg:      cfg,
		load:     loader{db: db, client: client},
		projects: map[int]*projectSubs{},
		runs:     map[int]map[*runSub]struct{}{},
	}
}

// addChange registers a change subscriber; the project's first subscriber
// loads its baseline seqs.
func (h *Hub) addChange(ctx context.Context, s *changeSub) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	p := h.projects[s.projectID]
	if p == nil {
		last, err := h.load.lastSeqs(ctx, s.projectID)
		if err != nil {
			return err
		}
		p = &projectSubs{subs: map[*changeSub]struct{}{}, lastSeq: last}
		h.projects[s.projectID] = p
	}
	p.subs[s] = struct{}{}
	h.cfg.OnSubscribers(1)
	return nil
}

func (h *Hub) removeChange(s *changeSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[s.projectID]
	if p == nil {
		return
	}
	if _, ok := p.subs[s]; !ok {
		return
	}
	delete(p.subs, s)
	h.cfg.OnSubscribers(-1)
	if len(p.subs) == 0 {
		delete(h.projects, s.projectID)
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
	defer h.mu.Unlock()
	subs := h.runs[s.runID]
	if _, ok := subs[s]; !ok {
		return
	}
	delete(subs, s)
	h.cfg.OnSubscribers(-1)
	if len(subs) == 0 {
		delete(h.runs, s.runID)
	}
}

// lastSeq is the seq this process last published for a segment, and
// whether its project has subscribers at all.
func (h *Hub) lastSeq(projectID, segmentID int) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[projectID]
	if p == nil {
		return 0, false
	}
	return p.lastSeq[segmentID], true
}

// publish hands a change to every subscriber of its project (and segment)
// without blocking: a subscriber whose buffer is full is dropped.
func (h *Hub) publish(c *Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.projects[c.ProjectID]
	if p == nil {
		return
	}
	if c.Seq > p.lastSeq[c.Segment.ID] {
		p.lastSeq[c.Segment.ID] = c.Seq
	}
	for s := range p.subs {
		if s.segmentID != 0 && s.segmentID != c.Segment.ID {
			continue
		}
		select {
		case s.inbox <- c:
		default:
			s.drop(ErrSlowConsumer)
		}
	}
}

// publishRun hands a run's new state to its subscribers.
func (h *Hub) publishRun(projectID int, st *RunState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.runs[st.Run.ID] {
		if s.projectID != projectID {
			continue
		}
		select {
		case s.inbox <- st:
		default:
			s.drop(ErrSlowConsumer)
		}
	}
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
	for id := range h.projects {
		ids = append(ids, id)
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

// closeAll ends every subscription: the process is shutting down.
func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, p := range h.projects {
		for s := range p.subs {
			s.drop(ErrClosed)
		}
	}
	for _, subs := range h.runs {
		for s := range subs {
			s.drop(ErrClosed)
		}
	}
}
