package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/lib/pq"
)

// WebhooksConfig is one run of the webhooks benchmark: the real-time
// benchmark's dataset, segments and stream, against a Pulse server that
// may send webhooks to a local receiver (--webhooks-allow-private).
type WebhooksConfig struct {
	RealtimeConfig
}

// WebhooksReport is what the webhooks benchmark measured.
type WebhooksReport struct {
	Segments                  int
	Offered, Accepted, Failed int
	Duration                  time.Duration
	// Messages is how many messages the stream's runs made; Delivered how
	// many the receiver accepted (verified) between the stream's start and
	// the last, over Span.
	Messages, Delivered int
	Span                time.Duration
	// Delays are, for each membership change the stream caused, the time
	// from the HTTP 200 of the batch that caused it to the receiver's 2xx
	// of its message; LiveDelays the same changes' delays to a live
	// subscriber, the floor measured in the same run.
	Delays, LiveDelays []time.Duration
	// Lost are changes of the stream's runs no delivered message carried;
	// Duplicated, messages delivered twice and changes carried by two
	// messages; BadSignatures, requests the receiver could not verify.
	Lost, Duplicated, BadSignatures int
}

// Print writes the report; the last line is "p99 X ms".
func (r WebhooksReport) Print(w io.Writer) {
	fmt.Fprintf(w, "segments: %d\n", r.Segments)
	fmt.Fprintf(w, "events/s: %.0f offered, %.0f accepted (%d events in %s; %d requests failed)\n",
		float64(r.Offered)/r.Duration.Seconds(), float64(r.Accepted)/r.Duration.Seconds(), r.Accepted, r.Duration.Round(time.Millisecond), r.Failed)
	fmt.Fprintf(w, "deliveries/s: %.1f (%d messages of %d made, in %s; %d signatures refused)\n",
		float64(r.Delivered)/max(r.Span.Seconds(), 1e-9), r.Delivered, r.Messages, r.Span.Round(time.Millisecond), r.BadSignatures)
	fmt.Fprintf(w, "membership changes: %d; delay from the batch's 200 to the receiver's 2xx: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
		len(r.Delays), ms(percentile(r.Delays, 50)), ms(percentile(r.Delays, 99)), ms(percentile(r.Delays, 100)))
	fmt.Fprintf(w, "floor, the same changes to a live subscriber: p50 %.0f ms, p99 %.0f ms; webhooks add %.0f ms at p99\n",
		ms(percentile(r.LiveDelays, 50)), ms(percentile(r.LiveDelays, 99)), ms(percentile(r.Delays, 99)-percentile(r.LiveDelays, 99)))
	fmt.Fprintf(w, "lost: %d, duplicated: %d\n", r.Lost, r.Duplicated)
	fmt.Fprintf(w, "p99 %.0f ms\n", ms(percentile(r.Delays, 99)))
}

func percentile(d []time.Duration, p float64) time.Duration {
	return RealtimeReport{Delays: d}.Percentile(p)
}

// RunWebhooks creates the real-time benchmark's segments, then one
// endpoint for all of them (the receiver's), subscribes to every change of
// the project, offers the stream, waits for every message to be delivered
// and measures each change's delay to the receiver and to the subscriber,
// and what was lost or duplicated.
func RunWebhooks(ctx context.Context, cfg WebhooksConfig, progress io.Writer) (WebhooksReport, error) {
	var rep WebhooksReport
	fmt.Fprintf(progress, "loading %d events for %d users...\n", cfg.Events, cfg.Users)
	if err := load(ctx, SegmentsConfig{DB: cfg.DB, ProjectID: cfg.ProjectID, Users: cfg.Users, Events: cfg.Events}); err != nil {
		return rep, err
	}
	if _, err := cfg.DB.ExecContext(ctx, `VACUUM ANALYZE events, users, user_daily_activities`); err != nil {
		return rep, fmt.Errorf("vacuum the dataset: %w", err)
	}
	fmt.Fprintln(progress, "creating the segments and their first full recomputes...")
	ids, err := createRealtimeSegments(ctx, cfg.RealtimeConfig)
	if err != nil {
		return rep, err
	}
	rep.Segments = len(ids)
	if err := waitComputed(ctx, cfg.DB, ids); err != nil {
		return rep, err
	}
	rc, err := startHookReceiver()
	if err != nil {
		return rep, err
	}
	defer func() { _ = rc.stop() }()
	// After the first recomputes: the stream's runs are the ones measured.
	endpointID, secret, err := createEndpoint(ctx, cfg.RealtimeConfig, rc.url)
	if err != nil {
		return rep, err
	}
	rc.setSecret(secret)
	conn, err := subscribeAll(ctx, cfg.RealtimeConfig)
	if err != nil {
		return rep, err
	}
	defer func() { _ = conn.CloseNow() }()
	changes := make(chan change, 1<<16)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	readDone := make(chan error, 1)
	go func() { readDone <- readChanges(readCtx, conn, changes) }()

	fmt.Fprintf(progress, "streaming %d events/s for %s...\n", cfg.Rate, cfg.Duration)
	started := time.Now()
	acks, offered, accepted, failed, err := stream(ctx, cfg.RealtimeConfig)
	if err != nil {
		return rep, err
	}
	rep.Duration, rep.Offered, rep.Accepted, rep.Failed = time.Since(started), offered, accepted, failed
	if err := waitClean(ctx, cfg.DB, ids, 30*time.Second); err != nil {
		return rep, err
	}
	fmt.Fprintln(progress, "waiting for every message to be delivered...")
	if err := waitDelivered(ctx, cfg.DB, endpointID, time.Minute); err != nil {
		return rep, err
	}
	time.Sleep(2 * time.Second) // the subscriber's last messages
	stopReading()
	if err := <-readDone; err != nil {
		return rep, err
	}
	close(changes)
	rep.LiveDelays = delays(acks, changes)
	got, bad := rc.deliveries()
	rep.BadSignatures = bad
	return rep, measureDeliveries(ctx, cfg.DB, endpointID, started, acks, got, &rep)
}

func createEndpoint(ctx context.Context, cfg RealtimeConfig, url string) (id int, secret string, err error) {
	var out struct {
		Data struct {
			Create struct {
				Endpoint struct{ ID string } `json:"endpoint"`
				Secret   string              `json:"secret"`
			} `json:"createWebhookEndpoint"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	if err := graphqlCall(ctx, cfg.BaseURL, cfg.AdminKey, `mutation($url: String!) { createWebhookEndpoint(input: {url: $url,
		description: "pulse bench webhooks", events: [ENTERED, EXITED]}) { endpoint { id } secret } }`, map[string]any{"url": url}, &out); err != nil {
		return 0, "", err
	}
	if len(out.Errors) > 0 {
		return 0, "", fmt.Errorf("create webhook endpoint: %s (does the server run with --webhooks-allow-private?)", out.Errors)
	}
	if _, err := fmt.Sscan(out.Data.Create.Endpoint.ID, &id); err != nil {
		return 0, "", fmt.Errorf("endpoint id %q: %w", out.Data.Create.Endpoint.ID, err)
	}
	return id, out.Data.Create.Secret, nil
}

// waitDelivered waits until no message of the endpoint is pending.
func waitDelivered(ctx context.Context, db *sql.DB, endpointID int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var pending int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_messages WHERE endpoint_id = $1 AND state = 'PENDING'`, endpointID).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("webhooks were still pending after %s", limit)
}

// measureDeliveries compares what the receiver got with what the runs
// moved and the messages made, and computes the delays.
func measureDeliveries(ctx context.Context, db *sql.DB, endpointID int, started time.Time, acks []ack, got []delivery, rep *WebhooksReport) error {
	stored, err := storedMessages(ctx, db, endpointID)
	if err != nil {
		return err
	}
	rep.Messages = len(stored)
	seenMessages := map[string]bool{}
	type key struct{ run, user, typ string }
	carried := map[key]bool{}
	var runIDs []string
	last := started
	for _, d := range got {
		if seenMessages[d.webhookID] {
			rep.Duplicated++
			continue
		}
		seenMessages[d.webhookID] = true
		rep.Delivered++
		last = d.at
		runIDs = append(runIDs, d.body.Data.Run.ID)
		for _, u := range d.body.Data.Users {
			k := key{d.body.Data.Run.ID, u.ID, d.body.Type}
			if carried[k] {
				rep.Duplicated++
			}
			carried[k] = true
		}
	}
	rep.Span = last.Sub(started)
	for id := range stored {
		if !seenMessages[id] {
			rep.Lost++
		}
	}
	lost, err := lostChanges(ctx, db, endpointID, func(run, user, typ string) bool { return carried[key{run, user, typ}] })
	if err != nil {
		return err
	}
	rep.Lost += lost
	readAt, err := runStarts(ctx, db, runIDs)
	if err != nil {
		return err
	}
	changes := make(chan change, len(got)*8)
	go func() {
		defer close(changes)
		for _, d := range got {
			for _, u := range d.body.Data.Users {
				if u.ExternalID != nil {
					changes <- change{segment: d.body.Data.Segment.ID, user: *u.ExternalID, at: d.at, read: readAt[d.body.Data.Run.ID]}
				}
			}
		}
	}()
	rep.Delays = delays(acks, changes)
	return nil
}

// storedMessages are the webhook ids of the endpoint's messages.
func storedMessages(ctx context.Context, db *sql.DB, endpointID int) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT webhook_id FROM webhook_messages WHERE endpoint_id = $1`, endpointID)
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	defer func() { _ = rows.Close() }()
	stored := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("messages: %w", err)
		}
		stored[id] = true
	}
	return stored, rows.Err()
}

// lostChanges counts the membership changes of every run that committed
// after the endpoint was created that no delivered message carried.
func lostChanges(ctx context.Context, db *sql.DB, endpointID int, carried func(run, user, typ string) bool) (int, error) {
	rows, err := db.QueryContext(ctx, `
		WITH runs AS (
			SELECT r.id FROM segment_runs r, webhook_endpoints e
			WHERE e.id = $1 AND r.project_id = e.project_id AND r.status = 'COMPLETED' AND r.finished_at > e.created_at
		)
		SELECT m.entered_run_id::text, m.user_id::text, 'segment.entered' FROM segment_memberships m JOIN runs ON runs.id = m.entered_run_id
		UNION ALL
		SELECT m.exited_run_id::text, m.user_id::text, 'segment.exited' FROM segment_memberships m JOIN runs ON runs.id = m.exited_run_id`, endpointID)
	if err != nil {
		return 0, fmt.Errorf("changes of the stream's runs: %w", err)
	}
	defer func() { _ = rows.Close() }()
	lost := 0
	for rows.Next() {
		var run, user, typ string
		if err := rows.Scan(&run, &user, &typ); err != nil {
			return 0, fmt.Errorf("changes of the stream's runs: %w", err)
		}
		if !carried(run, user, typ) {
			lost++
		}
	}
	return lost, rows.Err()
}

// runStarts are the runs' started_at: when each read the data it moved.
func runStarts(ctx context.Context, db *sql.DB, runIDs []string) (map[string]time.Time, error) {
	slices.Sort(runIDs)
	runIDs = slices.Compact(runIDs)
	rows, err := db.QueryContext(ctx, `SELECT id::text, started_at FROM segment_runs WHERE id::text = ANY($1)`, pq.Array(runIDs))
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("runs: %w", err)
		}
		out[id] = at
	}
	return out, rows.Err()
}
