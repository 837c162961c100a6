package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/bench"
	"github.com/pulse-analytics/pulse/internal/database"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "segments" {
		return benchSegments(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "analytics" {
		return benchAnalytics(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "live" {
		return benchLive(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "realtime" {
		return benchRealtime(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "reads" {
		return benchReads(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "webhooks" {
		return benchWebhooks(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "erasure" {
		return benchErasure(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "ingest" {
		fmt.Fprintln(stderr, "USAGE\n  pulse bench ingest [flags]\n  pulse bench segments [flags]\n  pulse bench analytics [flags]\n  pulse bench live [flags]\n  pulse bench realtime [flags]\n  pulse bench reads [flags]\n  pulse bench webhooks [flags]\n  pulse bench erasure [flags]")
		return fmt.Errorf("%w: pulse bench needs a benchmark: ingest, segments, analytics, live, realtime, reads, webhooks or erasure", errUsage)
	}
	var (
		cfg                      config
		events, users, batch, nc int
		rounds                   int
		cpuProfile               string
	)
	fs := newFlagSet("bench ingest", "pulse bench ingest [--events 500000] [--users 50000] [--batch 500] [--clients 2] [--rounds 3] [--cpuprofile FILE]",
		`Measures ingestion against floors measured in the same run. Generates a
realistic workload over 60 days: sessions of a few events minutes apart on
the user's usual device, users with skewed activity, about 200 bytes of
properties per event, in time order. It starts Pulse in-process on a
loopback port and sends the events through the Segment /v1/batch API from
concurrent clients, each waiting for its previous batch. Then it COPYs the
same rows over as many connections into an index-free table (the bare floor)
and into a table LIKE events INCLUDING ALL, with the rows' message keys
into one LIKE event_messages first (the storage floor: events' indexes and
the dedup keys). That is one round; each round starts from empty tables and a
freshly started Pulse. It prints each round's figures, then the medians
over the rounds: events/s for all three, the machine's busy CPU time per
event of each, "bare ratio: Y" (Pulse / bare floor) and, last, "ratio: X"
(Pulse / storage floor).

It works in its own database, the --database-url database name with
"_bench" appended, which it drops and recreates first.`, stderr)
	cfg.registerDatabase(fs)
	fs.IntVar(&events, "events", 500_000, "events to send")
	fs.IntVar(&users, "users", 50_000, "distinct users")
	fs.IntVar(&batch, "batch", 500, "events per /v1/batch call")
	fs.IntVar(&nc, "clients", 2, "concurrent clients (and COPY connections for the floors)")
	fs.IntVar(&rounds, "rounds", 3, "rounds to take the medians of")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the first round's /v1/batch phase to this file (go tool pprof reads it)")
	if err := cfg.parse(fs, args[1:]); err != nil {
		return err
	}
	if events < 1 || users < 1 || batch < 1 || nc < 1 || rounds < 1 {
		return fmt.Errorf("%w: --events, --users, --batch, --clients and --rounds must be positive", errUsage)
	}
	db, project, logger, err := benchProject(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	// Only the encoded bodies are kept: the server runs in this process,
	// and half a million generated events (maps) left live would make
	// every garbage collection of Pulse's heap mark them too.
	batches, err := bench.EncodeBatches(bench.Workload(events, users, 60, time.Now(), 1), batch)
	if err != nil {
		return err
	}
	run := bench.IngestConfig{Batches: batches, Events: events, Clients: nc,
		WriteKey: project.Ingest.Secret, ProjectID: project.Project.ID, DB: db}
	var reports []bench.IngestReport
	for round := 1; round <= rounds; round++ {
		run.CPUProfile = nil
		var profile *os.File
		if cpuProfile != "" && round == 1 {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return fmt.Errorf("create CPU profile: %w", err)
			}
			profile, run.CPUProfile = f, f
		}
		report, err := ingestRound(ctx, db, cfg, logger, run)
		if profile != nil {
			// The profile is written when the round stops it; a failed Close
			// can mean a truncated file.
			if closeErr := profile.Close(); closeErr != nil && err == nil {
				err = fmt.Errorf("write CPU profile: %w", closeErr)
			}
		}
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		report.PrintRound(stdout, round)
		reports = append(reports, report)
	}
	bench.PrintSummary(stdout, reports)
	return nil
}

// ingestRound empties the tables ingest writes, serves a fresh Pulse (empty
// caches) on a loopback port and runs one round of the ingest benchmark
// against it.
func ingestRound(ctx context.Context, db *sql.DB, cfg config, logger *slog.Logger, run bench.IngestConfig) (bench.IngestReport, error) {
	if _, err := db.ExecContext(ctx, `TRUNCATE events, event_messages, user_daily_activities, identities, users CASCADE`); err != nil {
		return bench.IngestReport{}, fmt.Errorf("empty the ingest tables: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return bench.IngestReport{}, fmt.Errorf("listen: %w", err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- serveHTTP(serveCtx, ln, newMux(db, cfg, logger, nil, webOptions{}), 5*time.Second, logger)
	}()
	run.BaseURL = "http://" + ln.Addr().String()
	report, err := bench.RunIngest(ctx, run)
	stop()
	if serveErr := <-done; err == nil && serveErr != nil {
		err = serveErr
	}
	return report, err
}

// freshBenchDatabase drops and recreates the "_bench" sibling of dsn's
// database and returns its URL.
func freshBenchDatabase(ctx context.Context, dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/") + "_bench"
	admin := *u
	admin.Path = "/postgres"
	db, err := sql.Open("postgres", admin.String())
	if err != nil {
		return "", fmt.Errorf("open server: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop %s: %w", name, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func benchSegments(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg                     config
		users, events, segments int
	)
	fs := newFlagSet("bench segments", "pulse bench segments [--users 100000] [--events 2000000] [--segments 200]",
		`Measures segment recomputation against a floor measured in the same run.
Loads users and events (60 days) with their rollups, then times the floor
scan (SELECT user_id, count(*), max(timestamp) FROM events of the last 30
days GROUP BY user_id) and a full recompute, diff write included, of a rule
mixing an event count, an activity condition and a platform share (every
member entering), alternately five times, keeping the fastest of each. Then
times a recompute that changes nothing and recomputing --segments varied
segments with 2 workers. Prints each and, last, "ratio: X" (recompute /
floor).

It works in its own database, the --database-url database name with
"_bench" appended, which it drops and recreates first.`, stderr)
	cfg.registerDatabase(fs)
	fs.IntVar(&users, "users", 100_000, "users")
	fs.IntVar(&events, "events", 2_000_000, "events over 60 days")
	fs.IntVar(&segments, "segments", 200, "segments for the recompute-all timing (0 skips it)")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if users < 1 || events < 1 || segments < 0 {
		return fmt.Errorf("%w: --users and --events must be positive", errUsage)
	}
	db, project, _, err := benchProject(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	report, err := bench.RunSegments(ctx, bench.SegmentsConfig{DB: db, ProjectID: project.Project.ID, Users: users, Events: events, Segments: segments}, stderr)
	if err != nil {
		return err
	}
	report.Print(stdout)
	return nil
}

// benchProject recreates the benchmark database, migrates it and creates
// the project a benchmark runs in; the caller closes db.
func benchProject(ctx context.Context, cfg *config, stderr io.Writer) (*sql.DB, *auth.NewProject, *slog.Logger, error) {
	cfg.LogLevel = "warn"
	logger, err := cfg.logger(stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	dsn, err := freshBenchDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg.DatabaseURL = dsn
	db, err := openMigrated(ctx, dsn, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	project, err := auth.CreateProject(ctx, database.NewClient(db), "bench")
	if err != nil {
		_ = db.Close()
		return nil, nil, nil, err
	}
	return db, project, logger, nil
}
