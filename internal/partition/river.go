package partition

import (
	"context"
	"database/sql"
	"time"

	"github.com/riverqueue/river"
)

// MaintainArgs is the partition_maintenance job: one run of Maintain.
type MaintainArgs struct{}

// Kind names the job in River.
func (MaintainArgs) Kind() string { return "partition_maintenance" }

// InsertOpts put the job on the default queue. A failed run is retried a
// few times; the next period's run comes anyway.
func (MaintainArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: river.QueueDefault, MaxAttempts: 3}
}

// worker runs Maintain.
type worker struct {
	river.WorkerDefaults[MaintainArgs]
	db   *sql.DB
	opts Options
}

// Timeout is none: the online copy of a large events takes as long as it
// takes, batch by batch (a process that dies mid-copy has its job rescued
// by another, which resumes after the last committed batch).
func (*worker) Timeout(*river.Job[MaintainArgs]) time.Duration { return -1 }

func (w *worker) Work(ctx context.Context, _ *river.Job[MaintainArgs]) error {
	_, err := Maintain(ctx, w.db, w.opts)
	return err
}

// AddWorkers registers the maintenance job's worker.
func AddWorkers(workers *river.Workers, db *sql.DB, opts Options) {
	river.AddWorker(workers, &worker{db: db, opts: opts.withDefaults()})
}

// PeriodicJobs are the maintenance job, every opts.Period and at start (a
// new process continues an interrupted copy at once); none with a negative
// period. River's leader inserts them.
func PeriodicJobs(opts Options) []*river.PeriodicJob {
	opts = opts.withDefaults()
	if opts.Period < 0 {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(opts.Period),
		func() (river.JobArgs, *river.InsertOpts) { return MaintainArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}
