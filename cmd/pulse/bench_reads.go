package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"time"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/bench"
	"github.com/pulse-analytics/pulse/internal/database"
)

func benchReads(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg                    config
		users, events, clients int
		rounds                 int
		duration               time.Duration
		cpuProfile, only       string
		asJSON                 bool
	)
	fs := newFlagSet("bench reads", "pulse bench reads [--users 20000] [--events 1280000] [--clients 10] [--duration 1s] [--rounds 5] [--json]",
		`Measures GraphQL reads against a floor measured in the same run. Seeds
--users users with traits and --events events over 60 days (the lowest ids
the busiest), and a segment holding every other user. It starts Pulse
in-process on a loopback port, its GraphQL pool of --graphql-db-max-conns
connections, and a floor server over that same pool: for each query one
hand-written SQL statement fetching the same rows, JSON-encoded by a plain
net/http handler in the shape of the GraphQL response (the two answers are
compared before anything is timed). Then, for each query, --clients
concurrent HTTP clients, each waiting for its previous response, send it for
--duration to Pulse's /graphql and to the floor, alternately, --rounds
times, after a warm-up of each. The queries: a user list (20
users, 3 fields), 20 users each with their 5 latest events and their event
count, the first 100 members of the segment with traits, and one user by id
(node, a random user each request). Prints the median req/s and the p99
of each side and the ratio (Pulse ÷ floor: the median of the rounds'
ratios) of each query, the worst last, then "ratio: X" (the worst), or all
of it as JSON with --json.

It works in its own database, the --database-url database name with
"_bench" appended, which it drops and recreates first.`, stderr)
	cfg.registerDatabase(fs)
	fs.IntVar(&users, "users", 20_000, "users")
	fs.IntVar(&events, "events", 1_280_000, "events over 60 days")
	fs.IntVar(&clients, "clients", 10, "concurrent HTTP clients")
	fs.DurationVar(&duration, "duration", time.Second, "how long each side of each query is measured per round")
	fs.IntVar(&rounds, "rounds", 5, "rounds, each measuring both sides of a query one after the other")
	fs.IntVar(&cfg.GraphQLDBMaxConns, "graphql-db-max-conns", database.DefaultGraphQLMaxConns, "connections of the GraphQL pool, which the floor shares")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the measurements (Pulse, the floor and the clients: one process) to this file (go tool pprof reads it)")
	fs.StringVar(&only, "only", "", `measure only the queries whose name contains this (e.g. "node")`)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if users < 1 || events < 1 || clients < 1 || rounds < 1 || duration <= 0 || cfg.GraphQLDBMaxConns < 1 {
		return fmt.Errorf("%w: --users, --events, --clients, --rounds, --duration and --graphql-db-max-conns must be positive", errUsage)
	}
	db, project, logger, err := benchProject(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stderr, "seeding %d users and %d events...\n", users, events)
	data, err := bench.SeedReads(ctx, db, project.Project.ID, users, events)
	if err != nil {
		return err
	}

	// Pulse as pulse serve assembles it: the GraphQL pool apart from the
	// main one, keys cached while their revocations are heard.
	web := webOptions{}
	if web.graphqlDB, err = database.OpenGraphQLPool(ctx, cfg.DatabaseURL, cfg.GraphQLDBMaxConns); err != nil {
		return err
	}
	defer web.graphqlDB.Close()
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	web.keys = auth.NewKeys(database.NewClient(db))
	if err := web.keys.Listen(serveCtx, auth.ListenConfig{DSN: cfg.DatabaseURL, Logger: logger}); err != nil {
		return fmt.Errorf("start key cache: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- serveHTTP(serveCtx, ln, newMux(db, cfg, logger, nil, web), 5*time.Second, logger)
	}()

	run := bench.ReadsConfig{
		Pool: web.graphqlDB, Data: data,
		GraphQLURL: "http://" + ln.Addr().String() + "/graphql", ReadKey: project.Read.Secret,
		Clients: clients, Duration: duration, Rounds: rounds, Only: only,
	}
	var profile *os.File
	if cpuProfile != "" {
		if profile, err = os.Create(cpuProfile); err != nil {
			return fmt.Errorf("create CPU profile: %w", err)
		}
		if err := pprof.StartCPUProfile(profile); err != nil {
			_ = profile.Close()
			return fmt.Errorf("start CPU profile: %w", err)
		}
	}
	report, err := bench.RunReads(ctx, run, stderr)
	if profile != nil {
		pprof.StopCPUProfile()
		if closeErr := profile.Close(); closeErr != nil && err == nil {
			err = fmt.Errorf("write CPU profile: %w", closeErr)
		}
	}
	stop()
	if serveErr := <-done; err == nil && serveErr != nil {
		err = serveErr
	}
	if err != nil {
		return err
	}
	if asJSON {
		return report.PrintJSON(stdout)
	}
	report.Print(stdout)
	return nil
}
