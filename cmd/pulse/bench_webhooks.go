package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pulse-analytics/pulse/internal/bench"
)

func benchWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg                 config
		users, events, rate int
		duration            time.Duration
	)
	fs := newFlagSet("bench webhooks", "pulse bench webhooks [--users 100000] [--events 2000000] [--rate 2000] [--duration 60s]",
		`Measures how soon a change reaches a webhook receiver. Loads the dataset
and creates the 20 real-time segments of bench realtime, starts Pulse
in-process (API and workers, with --webhooks-allow-private) on a loopback
port and a local receiver that verifies every request's Standard Webhooks
signature before answering 204; creates one endpoint for every segment
(ENTERED and EXITED, batches of 100) through the GraphQL API and subscribes
to segmentsChanged over a real WebSocket. Then offers bench realtime's
stream through /v1/batch at --rate events per second for --duration and
waits until every message is delivered. Prints the events/s achieved; the
deliveries per second; for each membership change the stream caused, the
delay from the HTTP 200 of the batch that caused it to the receiver's 2xx
of its message (p50, p99, max), and the same changes' delay to the
subscriber, the floor measured in the same run; the changes lost (made by a
committed run, carried by no delivered message, or a message never
delivered) and duplicated (a message delivered twice, or a change carried
twice), both 0 when delivery is exact; and, last, "p99 X ms".

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
		done <- run(serveCtx, []string{"serve", "--addr", addr, "--database-url", cfg.DatabaseURL, "--log-level", "warn",
			"--webhooks-allow-private"}, io.Discard, stderr)
	}()
	base := "http://" + addr
	if err := waitServing(ctx, base, done); err != nil {
		return err
	}
	report, err := bench.RunWebhooks(ctx, bench.WebhooksConfig{RealtimeConfig: bench.RealtimeConfig{BaseURL: base, DB: db,
		ProjectID: project.Project.ID, IngestKey: project.Ingest.Secret, ReadKey: project.Read.Secret, AdminKey: project.Admin.Secret,
		Users: users, Events: events, Rate: rate, Duration: duration}}, stderr)
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
