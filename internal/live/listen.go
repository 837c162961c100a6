package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/recompute"
)

// pingInterval is how often an idle LISTEN connection is checked, so a
// silently dead connection is noticed (and replaced) within it.
const pingInterval = 30 * time.Second

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

// openListener opens the LISTEN connection and waits until it listens.
func (h *Hub) openListener(ctx context.Context) (*pq.Listener, <-chan pq.ListenerEventType, error) {
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
		return nil, nil, err
	}
	if err := listener.Listen(recompute.NotifyChannel); err != nil {
		_ = listener.Close()
		return nil, nil, fmt.Errorf("listen on %s: %w", recompute.NotifyChannel, err)
	}
	return listener, events, nil
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

// listen receives notifications until ctx ends and hands each to the
// workers: it does no I/O of its own besides pinging an idle connection,
// so a slow load never delays the notifications behind it.
func (h *Hub) listen(ctx context.Context, listener *pq.Listener, events <-chan pq.ListenerEventType) {
	var pings sync.WaitGroup
	defer pings.Wait()
	defer func() { _ = listener.Close() }()
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
				h.work.addResync()
				continue
			}
			h.notified(n.Extra, time.Now())
		case <-ping.C:
			// A ping waits for the server's answer: not in this loop.
			pings.Go(func() { _ = listener.Ping() })
		}
	}
}

func (h *Hub) notified(payload string, at time.Time) {
	var n recompute.Notification
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		h.cfg.Logger.Warn("live: malformed notification", "payload", payload, "err", err)
		return
	}
	if n.Status == "COMPLETED" {
		h.work.addSegment(segmentKey{n.ProjectID, n.SegmentID}, n.Seq, at)
	}
	if h.hasRunSubscribers(n.RunID) {
		var final *bool
		if n.Status == "FAILED" {
			final = &n.Final
		}
		h.work.addRun(n.ProjectID, n.RunID, final, at)
	}
}
