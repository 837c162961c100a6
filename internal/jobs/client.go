// Package jobs assembles the River client of a Pulse process from the
// workers and periodic jobs each package contributes, and keeps the jobs
// of dead processes moving: a job whose process died is retried within
// seconds, one whose process is alive is never taken from it.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/pulse-analytics/pulse/internal/discovery"
	"github.com/pulse-analytics/pulse/internal/partition"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/retention"
	"github.com/pulse-analytics/pulse/internal/warnlog"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// Config configures the River client of a Pulse process.
type Config struct {
	// Work makes the client execute jobs; without it, it only inserts them
	// (an API-only process).
	Work bool
	// Workers is how many jobs run at once (default 4).
	Workers int
	// SchedulePeriod is how often due segments are enqueued (default a
	// minute); negative turns the scheduler off.
	SchedulePeriod time.Duration
	// ReconcilePeriod is how often runs whose job vanished are re-queued
	// (default 15 s); negative turns it off.
	ReconcilePeriod time.Duration
	// PollInterval is how often idle workers look for jobs (River's
	// default: a second).
	PollInterval time.Duration
	// RescueInterval is how often the jobs of dead processes are looked
	// for (default 5 s).
	RescueInterval time.Duration
	// Realtime configures incremental passes and sweeps (clock, delay,
	// drift observer); its Delay is also the sweep's period, which a
	// negative SweepPeriod turns off.
	Realtime    recompute.Options
	SweepPeriod time.Duration
	// RealtimeWorkers is how many incremental passes run at once, apart
	// from the Workers of full recomputes (default 2).
	RealtimeWorkers int
	// Webhooks configures deliveries (their HTTP client, metrics); its
	// workers run on their own queue, WebhookWorkers at once (default 4).
	Webhooks       webhook.Options
	WebhookWorkers int
	// Retention configures the deletion of expired data (clock, batch
	// size, how often every project is queued, a counter of rows).
	Retention retention.Options
	// Partitions configures the partition maintenance of events (clock,
	// period, the online copy's batches); it runs on the default queue.
	Partitions partition.Options
	// ListenDSN, when set, makes job pickup LISTEN for new jobs instead of
	// waiting for the next poll: one more connection, held by a pgx pool.
	ListenDSN string
	Logger    *slog.Logger
}

// DefaultWebhookWorkers is how many deliveries a process makes at once.
// Each holds a database connection while its receiver answers (its
// attempt's transaction holds the stream's lock): the jobs pool is sized
// for them.
const DefaultWebhookWorkers = 4

// realtimePoll bounds how long a queued pass waits for a worker to see it.
const realtimePoll = 200 * time.Millisecond

// stuckMargin bounds River's own rescue of a job still running past its
// timeout: River rescues a job once it has run both its kind's timeout and
// this long. A job whose process died is rescued far sooner, by liveness.
const stuckMargin = 2 * time.Minute

// Client is the River client of a Pulse process, with the liveness of a
// working process: Start and Stop both.
type Client struct {
	// River inserts jobs (and, when working, runs them).
	River    *river.Client[*sql.Tx]
	liveness *liveness
	listener *pgxpool.Pool
}

// listenerPool is the pgx pool River LISTENs on: one connection.
func listenerPool(dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("job listener: %w", err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("job listener: %w", err)
	}
	return pool, nil
}

func (c *Client) closeListener() {
	if c.listener != nil {
		c.listener.Close()
	}
}

// NewClient returns the River client of a Pulse process: recompute's,
// discovery's, webhook's, retention's and partition's workers and periodic jobs when
// cfg.Work is set.
func NewClient(db *sql.DB, cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	riverCfg := &river.Config{Logger: warnlog.New(cfg.Logger)}
	c := &Client{}
	if cfg.Work {
		id, err := newClientID()
		if err != nil {
			return nil, err
		}
		riverCfg.ID = id
		riverCfg.RescueStuckJobsAfter = stuckMargin
		workers := river.NewWorkers()
		if cfg.Realtime.Logger == nil {
			cfg.Realtime.Logger = cfg.Logger
		}
		recompute.AddWorkers(workers, db, cfg.Realtime)
		river.AddWorker(workers, discovery.NewWorker(db))
		webhook.AddWorkers(workers, db, cfg.Webhooks)
		retention.AddWorkers(workers, db, cfg.Retention)
		if cfg.Partitions.Logger == nil {
			cfg.Partitions.Logger = cfg.Logger
		}
		partition.AddWorkers(workers, db, cfg.Partitions)
		riverCfg.Workers = workers
		sweep := cfg.SweepPeriod
		if sweep == 0 {
			sweep = cfg.Realtime.Delay
		}
		riverCfg.PeriodicJobs = slices.Concat(recompute.PeriodicJobs(recompute.Periods{Schedule: cfg.SchedulePeriod, Reconcile: cfg.ReconcilePeriod, Sweep: sweep}),
			webhook.PeriodicJobs(cfg.Webhooks), retention.PeriodicJobs(cfg.Retention), partition.PeriodicJobs(cfg.Partitions))
		if cfg.Workers <= 0 {
			cfg.Workers = 4
		}
		if cfg.RealtimeWorkers <= 0 {
			cfg.RealtimeWorkers = 2
		}
		if cfg.WebhookWorkers <= 0 {
			cfg.WebhookWorkers = DefaultWebhookWorkers
		}
		riverCfg.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: cfg.Workers},
			// Passes are dispatched by another process's sweep as often as
			// not, and River throttles the notifications of new jobs: a
			// short poll bounds their pickup, at one cheap query each.
			recompute.QueueRealtime: {MaxWorkers: cfg.RealtimeWorkers, FetchPollInterval: realtimePoll, FetchCooldown: realtimePoll / 4},
			// Deliveries are queued by runs' transactions, in bursts: the same
			// short poll as passes bounds their pickup.
			webhook.QueueDeliveries: {MaxWorkers: cfg.WebhookWorkers, FetchPollInterval: realtimePoll, FetchCooldown: realtimePoll / 4},
			retention.Queue:         {MaxWorkers: 1},
		}
		riverCfg.FetchPollInterval = cfg.PollInterval
		if cfg.PollInterval > 0 && cfg.PollInterval < river.FetchCooldownDefault {
			riverCfg.FetchCooldown = cfg.PollInterval
		}
		c.liveness = newLiveness(db, id, cfg.RescueInterval, cfg.Logger)
	}
	driver := riverdatabasesql.New(db)
	if cfg.Work && cfg.ListenDSN != "" {
		pool, err := listenerPool(cfg.ListenDSN)
		if err != nil {
			return nil, err
		}
		c.listener = pool
		driver = riverdatabasesql.NewWithPgxListener(db, pool)
	}
	client, err := river.NewClient(driver, riverCfg)
	if err != nil {
		c.closeListener()
		return nil, fmt.Errorf("river client: %w", err)
	}
	c.River = client
	return c, nil
}

// Start takes the process's liveness lock, then starts working jobs. It
// must be called only on a client made with Config.Work.
func (c *Client) Start(ctx context.Context) error {
	if c.liveness == nil {
		return errors.New("start jobs: the client only inserts")
	}
	if err := c.liveness.Start(ctx); err != nil {
		return err
	}
	if err := c.River.Start(ctx); err != nil {
		c.liveness.Stop()
		return fmt.Errorf("start river: %w", err)
	}
	return nil
}

// Stop waits for the jobs in flight (until ctx ends), then releases the
// liveness lock: the jobs still running are then rescued by other
// processes.
func (c *Client) Stop(ctx context.Context) error {
	err := c.River.Stop(ctx)
	if c.liveness != nil {
		c.liveness.Stop()
	}
	c.closeListener()
	if err != nil {
		return fmt.Errorf("stop river: %w", err)
	}
	return nil
}
