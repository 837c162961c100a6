package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/recompute"
)

func worker(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("worker", "pulse worker [--database-url URL]",
		`Works the background jobs only: segment recomputes (River) and the
scheduler that queues each segment by its refresh interval. Pair it with
"pulse serve --no-workers" processes to split API and jobs; any number of
workers may share one database. Migrates the database first, under a lock.
SIGTERM or SIGINT stops it after the jobs in flight.`, stderr)
	cfg.registerDatabase(fs)
	cfg.registerJobs(fs)
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.envDuration("PULSE_SHUTDOWN_TIMEOUT", defaultShutdownTimeout),
		"how long SIGTERM waits for jobs in flight (env PULSE_SHUTDOWN_TIMEOUT)")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	logger, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	logger.Info("starting pulse worker", append([]any{"version", version}, cfg.logAttrs()...)...)
	db, err := openMigrated(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	client, err := jobs.NewClient(db, cfg.jobsConfig(true, logger, nil))
	if err != nil {
		return err
	}
	if err := syncRealtimeSources(ctx, recompute.NewEnqueuer(db, client.River), logger); err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	logger.Info("pulse worker is running")
	<-ctx.Done()
	logger.Info("stopping worker", "timeout", cfg.ShutdownTimeout)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := client.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	logger.Info("stopped")
	return nil
}
