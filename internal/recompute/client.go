package recompute

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"github.com/pulse-analytics/pulse/internal/warnlog"
)

// Config configures the River client of a Pulse process.
type Config struct {
	// Work makes the client execute jobs; without it, it only inserts them
	// (an API-only process).
	Work bool
	// Workers is how many jobs run at once.
	Workers int
	// SchedulePeriod is how often due segments are enqueued; negative
	// turns the scheduler off.
	SchedulePeriod time.Duration
	// PollInterval is how often idle workers look for jobs.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// NewClient returns the River client of Pulse: the recompute worker and the
// periodic scheduler that honours each segment's refresh interval.
func NewClient(db *sql.DB, cfg Config) (*river.Client[*sql.Tx], error) {
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.SchedulePeriod == 0 {
		cfg.SchedulePeriod = time.Minute
	}
	riverCfg := &river.Config{Logger: warnlog.New(cfg.Logger)}
	if cfg.Work {
		workers := river.NewWorkers()
		river.AddWorker(workers, NewWorker(db))
		river.AddWorker(workers, &scheduleWorker{db: db})
		river.AddWorker(workers, discovery.NewWorker(db))
		riverCfg.Workers = workers
		riverCfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
		riverCfg.FetchPollInterval = cfg.PollInterval
		if cfg.PollInterval > 0 && cfg.PollInterval < river.FetchCooldownDefault {
			riverCfg.FetchCooldown = cfg.PollInterval
		}
		if cfg.SchedulePeriod > 0 {
			riverCfg.PeriodicJobs = []*river.PeriodicJob{
				river.NewPeriodicJob(river.PeriodicInterval(cfg.SchedulePeriod),
					func() (river.JobArgs, *river.InsertOpts) { return scheduleArgs{}, nil },
					&river.PeriodicJobOpts{RunOnStart: true}),
			}
		}
	}
	client, err := river.NewClient(riverdatabasesql.New(db), riverCfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}

// scheduleArgs is the periodic job that enqueues due segments.
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "schedule_recomputes" }

func (scheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: 30 * time.Second}}
}

type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	db *sql.DB
}

// Work enqueues a SCHEDULE run of every active dynamic segment whose last
// computation is older than its refresh interval. Segments with a job
// already waiting or running are left to it (the job is unique).
func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[scheduleArgs]) error {
	list, err := w.dueSegments(ctx)
	if err != nil {
		return err
	}
	enqueuer := NewEnqueuer(w.db, river.ClientFromContext[*sql.Tx](ctx))
	for _, d := range list {
		if _, err := enqueuer.Enqueue(ctx, d.project, d.segment, segmentrun.TriggerSCHEDULE); err != nil {
			return err
		}
	}
	return nil
}

// dueSegment is an active dynamic segment due for a SCHEDULE run.
type dueSegment struct{ project, segment int }

// dueSegments lists the segments Work enqueues, read in full before the
// first enqueue so that the query's connection is back in the pool.
func (w *scheduleWorker) dueSegments(ctx context.Context) ([]dueSegment, error) {
	rows, err := w.db.QueryContext(ctx, `
		SELECT project_id, id FROM segments
		WHERE archived_at IS NULL AND kind = 'DYNAMIC'
		AND (last_computed_at IS NULL OR last_computed_at + refresh_interval_seconds * interval '1 second' <= now())
		AND NOT EXISTS (SELECT 1 FROM segment_runs r WHERE r.segment_id = segments.id AND r.status IN ('PENDING', 'RUNNING'))
		ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("find due segments: %w", err)
	}
	defer rows.Close()
	var list []dueSegment
	for rows.Next() {
		var d dueSegment
		if err := rows.Scan(&d.project, &d.segment); err != nil {
			return nil, fmt.Errorf("find due segments: %w", err)
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find due segments: %w", err)
	}
	return list, nil
}
