package retention

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/internal/jobstate"
)

// Queue is the River queue of apply_retention jobs: one at a time per
// process, apart from recomputes, which a long deletion never holds up.
const Queue = "retention"

// Args is the apply_retention job: delete what one project keeps no
// longer. Only the project is part of its uniqueness: one job waits or
// runs per project. A change of the retention while one runs is seen by
// that one, which checks the setting again before it ends (see Worker).
type Args struct {
	ProjectID int `json:"project_id" river:"unique"`
}

// Kind names the job in River.
func (Args) Kind() string { return "apply_retention" }

// InsertOpts make the job unique per project while it waits or runs.
func (Args) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       Queue,
		MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{
			ByArgs:  true,
			ByState: jobstate.WaitingOrRunning(),
		},
	}
}

var _ river.JobArgsWithInsertOpts = Args{}

// Options configure the retention's workers.
type Options struct {
	// Now is the clock cutoffs are computed from (default time.Now); tests
	// move it.
	Now func() time.Time
	// BatchSize bounds the rows one transaction deletes (default
	// DefaultBatchSize).
	BatchSize int
	// Budget is how long one run of a job deletes before it yields, to
	// continue as a new run (default DefaultBudget): a long backlog never
	// runs into the job's timeout, and other jobs get their turn.
	Budget time.Duration
	// Period is how often every project with a retention is queued
	// (default DefaultPeriod); negative turns the periodic job off.
	Period time.Duration
	// OnDeleted is told of the rows each batch deleted, by table (e.g. a
	// metrics counter).
	OnDeleted func(table string, rows int)
}

// Defaults of Options.
const (
	DefaultBatchSize = 5000
	DefaultBudget    = 5 * time.Minute
	DefaultPeriod    = time.Hour
)

// Timeout bounds one run of a job: its budget, then the batch in flight.
const Timeout = 10 * time.Minute

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if o.OnDeleted == nil {
		o.OnDeleted = func(string, int) {}
	}
	return o
}

// AddWorkers registers the workers of the retention's jobs: one project's
// deletion, and the periodic job that queues every project's.
func AddWorkers(workers *river.Workers, db *sql.DB, opts Options) {
	river.AddWorker(workers, &Worker{db: db, opts: opts.withDefaults()})
	river.AddWorker(workers, &scheduleWorker{db: db})
}

// PeriodicJobs are the retention's periodic jobs; River's leader inserts
// them, the first at start.
func PeriodicJobs(opts Options) []*river.PeriodicJob {
	opts = opts.withDefaults()
	if opts.Period < 0 {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(opts.Period),
		func() (river.JobArgs, *river.InsertOpts) { return scheduleArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}

// scheduleArgs is the periodic job that queues an apply_retention job for
// every project with a retention.
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "schedule_retention" }

func (scheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	db *sql.DB
}

// Work queues the job of every project with a retention, in one
// transaction; a project whose job waits or runs already keeps that one.
func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[scheduleArgs]) error {
	projects, err := projectsWithRetention(ctx, w.db)
	if err != nil || len(projects) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(projects))
	for i, id := range projects {
		params[i] = river.InsertManyParams{Args: Args{ProjectID: id}}
	}
	if _, err := river.ClientFromContext[*sql.Tx](ctx).InsertMany(ctx, params); err != nil {
		return fmt.Errorf("queue the retention of %d projects: %w", len(projects), err)
	}
	return nil
}

func projectsWithRetention(ctx context.Context, db *sql.DB) ([]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT id FROM projects WHERE retention_days IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("find projects with a retention: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find projects with a retention: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find projects with a retention: %w", err)
	}
	return ids, nil
}
