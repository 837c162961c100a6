package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/export"
	"github.com/pulse-analytics/pulse/internal/graphiql"
	"github.com/pulse-analytics/pulse/internal/health"
	"github.com/pulse-analytics/pulse/internal/httplog"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/metrics"
	"github.com/pulse-analytics/pulse/internal/migrate"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/retention"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("serve", "pulse serve [--addr :8080] [--database-url URL] [--no-workers] [--demo]",
		`Runs the Pulse API: GraphQL at /graphql (POST, GET, WebSocket, SSE;
GraphiQL in a browser), Segment's HTTP Tracking API at /v1/*, PostHog's
capture API at /batch/, /capture/ and /e/, the live dashboard at /,
Prometheus metrics at /metrics, River's UI at /riverui/ (with --operator-token), and
/healthz and /readyz. With --demo, the first start creates and seeds a demo
project whose segments keep changing, and prints its keys.
Creates the database when it is missing and applies migrations first, under
a lock, so several processes may start together. It also works the segment
recompute jobs (River) and queues each segment by its refresh interval,
unless --no-workers makes it API-only (run "pulse worker" for the jobs).
Any number of processes may share one database: each listens for committed
runs and pushes them to its own subscribers.
SIGTERM or SIGINT stops it gracefully.`, stderr)
	cfg.registerServe(fs)
	var demoOpts demoFlags
	demoOpts.register(fs, &cfg)
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	demoOpts.defaultAddr(fs, &cfg)
	logger, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	logger.Info("starting pulse", append([]any{"version", version}, cfg.logAttrs()...)...)
	db, err := openMigrated(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		return err
	}
	defer db.Close()

	web := webOptions{metrics: metrics.New(prometheus.NewRegistry())}
	jobsDB, err := database.OpenPool(ctx, database.WithApplicationName(cfg.DatabaseURL, database.JobsApplicationName), database.DefaultJobsMaxConns)
	if err != nil {
		return err
	}
	defer jobsDB.Close()
	client, err := jobs.NewClient(jobsDB, cfg.jobsConfig(!cfg.NoWorkers, logger, web.metrics))
	if err != nil {
		return err
	}
	if web.graphqlDB, err = database.OpenGraphQLPool(ctx, database.WithApplicationName(cfg.DatabaseURL, database.GraphQLApplicationName),
		cfg.GraphQLDBMaxConns); err != nil {
		return err
	}
	defer web.graphqlDB.Close()
	defer metrics.WatchJobs(ctx, web.metrics, client.River)()
	if !cfg.NoWorkers {
		if err := client.Start(ctx); err != nil {
			return fmt.Errorf("start jobs: %w", err)
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			_ = client.Stop(stopCtx)
		}()
	}
	web.live = live.NewHub(db, database.NewClient(db), live.Config{DSN: cfg.DatabaseURL, Logger: logger,
		OnReconnect: web.metrics.ListenerReconnects.Inc, OnSubscribers: web.metrics.AddSubscribers,
		OnSlowConsumer: web.metrics.SlowConsumers.Inc, OnSent: web.metrics.LiveMessages.Inc, OnFanOut: web.metrics.ObserveFanOut})
	// Stopped after the server: its sockets are closed with 1001 first.
	if err := web.live.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start live updates: %w", err)
	}
	defer web.live.Stop()

	web.keys = auth.NewKeys(database.NewClient(db))
	if err := web.keys.Listen(ctx, auth.ListenConfig{DSN: cfg.DatabaseURL, Logger: logger}); err != nil {
		return fmt.Errorf("start key cache: %w", err)
	}
	defer web.keys.Stop()

	if web.jobsUI, err = newJobsUI(ctx, client.River, cfg.OperatorToken, logger); err != nil {
		return err
	}
	enqueuer := recompute.NewEnqueuer(db, client.River)
	if err := syncRealtimeSources(ctx, enqueuer, logger); err != nil {
		return err
	}
	web.discovery = discovery.NewEnqueuer(db, client.River)
	web.retention = retention.NewEnqueuer(client.River)
	// Listening first tells the demo whether it may hand out its keys.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	demoRun, err := setUpDashboard(ctx, db, &web, enqueuer, demoOpts, ln.Addr(), cfg.DatabaseURL, logger)
	if err != nil {
		_ = ln.Close() // the error that matters is the demo's
		return err
	}
	if demoRun != nil {
		printDemoBanner(stderr, demoRun, ln.Addr(), demoOpts.sharesKeys(ln.Addr()))
		demoRun.Start(ctx)
		defer demoRun.Stop()
	}
	return serveHTTP(ctx, ln, newMux(db, cfg, logger, enqueuer, web), cfg.ShutdownTimeout, logger)
}

// openMigrated creates the database if needed, connects and migrates it.
func openMigrated(ctx context.Context, dsn string, logger *slog.Logger) (*sql.DB, error) {
	if err := migrate.EnsureDatabase(ctx, dsn); err != nil {
		return nil, err
	}
	db, err := database.Open(ctx, database.WithApplicationName(dsn, database.MainApplicationName))
	if err != nil {
		return nil, err
	}
	if err := migrate.Up(ctx, db, logger); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// syncRealtimeSources makes the segments of an older installation (or of
// an older version's rules) real time; see recompute.SyncRealtimeSources.
func syncRealtimeSources(ctx context.Context, enqueuer *recompute.Enqueuer, logger *slog.Logger) error {
	n, err := enqueuer.SyncRealtimeSources(ctx, 0)
	if err != nil {
		return fmt.Errorf("sync real-time sources: %w", err)
	}
	if n > 0 {
		logger.Info("segments now move in real time, each with a recompute queued", "segments", n)
	}
	return nil
}

func newMux(db *sql.DB, cfg config, logger *slog.Logger, enqueuer *recompute.Enqueuer, web webOptions) http.Handler {
	client := database.NewClient(db)
	keys := web.keys
	if keys == nil {
		keys = auth.NewKeys(client)
	}
	mux := http.NewServeMux()
	// One writer for every ingestion path: its cache of known users is shared.
	writer := web.sink(ingest.NewWriter(db))
	// Ingestion keeps the main pool; the other resolvers get their own.
	graphqlDB := db
	if web.graphqlDB != nil {
		graphqlDB = web.graphqlDB
	}
	mux.Handle("/graphql", graph.NewHandler(graphqlDB, database.NewClient(graphqlDB), graph.Options{
		Keys:         keys,
		Logger:       logger,
		Limits:       cfg.Limits,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Recompute:    enqueuer,
		Discovery:    web.discovery,
		Retention:    web.retention,
		Live:         web.live,
		Ingest:       writer,
		Webhooks:     webhook.StoreOptions{AllowPrivate: cfg.WebhooksAllowPrivate},
		Extensions:   web.graphqlExtensions(),
		OnSuppressed: web.onSuppressed(),
	}))
	// Access requests: everything about one user, streamed (ADMIN keys).
	mux.Handle(privacy.ExportPattern, privacy.ExportHandler(keys, privacy.NewExporter(graphqlDB), logger))
	// Segment HTTP Tracking API and PostHog capture, for SDKs as they are.
	ingestAPI := ingest.NewHTTPHandler(keys, writer, logger)
	for _, path := range []string{"/v1/", "/batch", "/batch/", "/capture", "/capture/", "/e", "/e/", "/i/v0/e", "/i/v0/e/"} {
		mux.Handle(path, ingestAPI)
	}
	// Exports of members and runs, under /v1/ beside ingestion: their
	// patterns are the more specific. They read on the main pool, at most
	// export.DefaultMaxConcurrent connections of it at once.
	exports := export.NewHandler(keys, export.New(db), export.Options{Logger: logger})
	for _, path := range export.Patterns {
		mux.Handle(path, exports)
	}
	mux.Handle(graphiql.Prefix, graphiql.Assets()) // the files of GraphiQL at GET /graphql
	mux.Handle("GET /healthz", health.Live())
	mux.Handle("GET /readyz", health.Ready(db))
	web.mount(mux)
	return httplog.Middleware(logger)(web.instrument(mux))
}

// serveHTTP serves until ctx ends, then shuts down: it stops accepting,
// ends subscriptions and waits up to timeout for requests in flight.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, timeout time.Duration, logger *slog.Logger) error {
	// Hijacked WebSocket connections are not tracked by Shutdown; they end
	// when this base context is cancelled, and are waited for below.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	var sockets hijacked
	srv := &http.Server{
		Handler:           sockets.track(h),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("pulse is serving", "addr", ln.Addr().String(), "graphql", "http://"+displayAddr(ln.Addr())+"/graphql")

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", timeout)
	cancelBase()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	sockets.wait(shutdownCtx)
	logger.Info("stopped")
	return nil
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("localhost:%d", tcp.Port)
		}
		return a.String()
	}
	return a.String()
}
