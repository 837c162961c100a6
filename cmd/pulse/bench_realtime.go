package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/pulse-analytics/pulse/internal/bench"
)

func benchRealtime(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg                 config
		users, events, rate int
		duration            time.Duration
	)
	fs := newFlagSet("bench realtime", "pulse bench realtime [--users 100000] [--events 2000000] [--rate 2000] [--duration 60s]",
		`Measures how soon a change reaches the segments it moves. Loads users and
events (60 days, as bench segments), starts Pulse in-process (API and
workers) on a loopback port, creates 20 real-time segments of mixed kinds
(event counts, did-not, activity, platform, first and last seen, traits,
feedback, nested) and subscribes to segmentsChanged over a real WebSocket.
Then offers a stream through /v1/batch at --rate events per second for
--duration, with identify calls and feedback mixed in, from users chosen
so that segments move. Prints the events/s achieved; for each membership
change the stream caused, the delay from the HTTP 200 of the batch that
caused it to its message on the subscriber (p50, p99, max); how long the
incremental passes ran; the drift of a full recompute of every segment at
the end (0 when the real-time path is exact); a pass over 1,000 dirty users
against a full recompute of the same segment ("incremental ratio"); and,
last, "p99 X ms".

It works in its own database, the --database-url database name with
"_bench" appended, which it drops and recreates first.`, stderr)
	cfg.registerDatabase(fs)
	fs.IntVar(&users, "users", 100_000, "users")
	fs.IntVar(&events, "events", 2_000_000, "events over 60 days")
	fs.IntVar(&rate, "rate", 2000, "events per second offered")
	fs.DurationVar(&duration, "duration", time.Minute, "how long the stream lasts")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if users < 1 || events < 1 || rate < 1 || duration <= 0 {
		return fmt.Errorf("%w: --users, --events, --rate and --duration must be positive", errUsage)
	}
	db, project, _, err := benchProject(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // serve listens on it again
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- run(serveCtx, []string{"serve", "--addr", addr, "--database-url", cfg.DatabaseURL, "--log-level", "warn"}, io.Discard, stderr)
	}()
	base := "http://" + addr
	if err := waitServing(ctx, base, done); err != nil {
		return err
	}
	report, err := bench.RunRealtime(ctx, bench.RealtimeConfig{BaseURL: base, DB: db, ProjectID: project.Project.ID,
		IngestKey: project.Ingest.Secret, ReadKey: project.Read.Secret, AdminKey: project.Admin.Secret,
		Users: users, Events: events, Rate: rate, Duration: duration}, stderr)
	stop()
	if serveErr := <-done; err == nil && serveErr != nil {
		err = serveErr
	}
	if err != nil {
		return err
	}
	report.Print(stdout)
	return nil
}

// waitServing waits until the server at base answers /readyz, or it exits.
func waitServing(ctx context.Context, base string, done <-chan error) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("serve exited early: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s never became ready", base)
}
