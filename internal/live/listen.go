package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/recompute"
)

// pingInterval is how often an idle LISTEN connection is checked, so a
// silently dead connection is noticed (and replaced) within it.
const pingInterval = 30 * time.Second

// Start opens the LISTEN connection, waits until it listens, and then
// delivers notifications until ctx ends, when every subscription is closed
// with ErrClosed. After a lost connection it reconnects and replays from the
// database what it may have missed.
func (h *Hub) Start(ctx context.Context) error {
	events := make(chan pq.ListenerEventType, 16)
	listener := pq.NewListener(listenerDSN(h.cfg.DSN), 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			h.cfg.Logger.Warn("live listener connection", "event", ev.String(), "err", err)
		}
		select {
		case events <- ev:
		default:
		}
	})
	if err := waitConnected(ctx, events); err != nil {
		_ = listener.Close()
		return err
	}
	if err := listener.Listen(recompute.NotifyChannel); err != nil {
		_ = listener.Close()
		return fmt.Errorf("listen on %s: %w", recompute.NotifyChannel, err)
	}
	go h.loop(ctx, listener, events)
	return nil
}

// ListenerApplicationName names the LISTEN connection in pg_stat_activity.
const ListenerApplicationName = "pulse_live_listener"

// listenerDSN names the connection, so operators (and tests) can tell it
// from the pool's.
func listenerDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("application_name", ListenerApplicationName)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " application_name=" + ListenerApplicationName
}

func waitConnected(ctx context.Context, events <-chan pq.ListenerEventType) error {
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("open live listener: %w", ctx.Err())
		case ev := <-events:
			if ev == pq.ListenerEventConnected {
				return nil
			}
		}
	}
}

func (h *Hub) loop(ctx context.Context, listener *pq.Listener, events <-chan pq.ListenerEventType) {
	defer func() { _ = listener.Close() }()
	defer h.closeAll()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			if ev == pq.ListenerEventReconnected {
				h.cfg.OnReconnect()
			}
		case n := <-listener.Notify:
			if n == nil {
				// pq sends nil after re-establishing the connection:
				// notifications sent meanwhile are lost, the database is not.
				h.resync(ctx)
				continue
			}
			h.notified(ctx, n.Extra)
		case <-ping.C:
			go func() { _ = listener.Ping() }()
		}
	}
}

func (h *Hub) notified(ctx context.Context, payload string) {
	var n recompute.Notification
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		h.cfg.Logger.Warn("live: malformed notification", "payload", payload, "err", err)
		return
	}
	if n.Status == "COMPLETED" {
		h.committed(ctx, n.ProjectID, n.SegmentID, n.Seq)
	}
	if h.hasRunSubscribers(n.RunID) {
		var final *bool
		if n.Status == "FAILED" {
			final = &n.Final
		}
		h.runChanged(ctx, n.ProjectID, n.RunID, final)
	}
}

// committed publishes the runs of a segment up to seq that this process has
// not published yet, loading each once.
func (h *Hub) committed(ctx context.Context, projectID, segmentID, seq int) {
	for {
		last, subscribed := h.lastSeq(projectID, segmentID)
		if !subscribed || seq <= last {
			return
		}
		changes, err := h.load.changes(ctx, projectID, segmentID, last, seq)
		if err != nil {
			h.cfg.Logger.Error("live: load committed runs", "segment_id", segmentID, "seq", seq, "err", err)
			return
		}
		if len(changes) == 0 {
			return
		}
		for _, c := range changes {
			h.publish(c)
		}
	}
}

func (h *Hub) runChanged(ctx context.Context, projectID, runID int, final *bool) {
	st, err := h.load.runState(ctx, projectID, runID, final)
	if err != nil {
		h.cfg.Logger.Error("live: load run", "run_id", runID, "err", err)
		return
	}
	h.publishRun(projectID, st)
}

// resync catches up after notifications may have been lost: every segment
// of a subscribed project whose latest committed run is past what was
// published, and the current state of every followed run.
func (h *Hub) resync(ctx context.Context) {
	projects := h.subscribedProjects()
	if len(projects) > 0 {
		latest, err := h.load.latestRuns(ctx, projects)
		if err != nil {
			h.cfg.Logger.Error("live: resync", "err", err)
		}
		for _, r := range latest {
			h.committed(ctx, r.projectID, r.segmentID, r.seq)
		}
	}
	for runID, projectID := range h.subscribedRuns() {
		h.runChanged(ctx, projectID, runID, nil)
	}
}
