package recompute

import (
	"database/sql"
	"time"

	"github.com/riverqueue/river"
)

// River returns the client the Enqueuer inserts with: the one River client
// of the process, through which other kinds of jobs, such as segment
// discoveries, are inserted too.
func (e *Enqueuer) River() *river.Client[*sql.Tx] { return e.river }

// AddWorkers registers the workers of recompute's jobs: recomputes, the
// scheduler and the reconciliation of runs whose job vanished.
func AddWorkers(workers *river.Workers, db *sql.DB) {
	river.AddWorker(workers, NewWorker(db))
	river.AddWorker(workers, &scheduleWorker{db: db})
	river.AddWorker(workers, &reconcileWorker{db: db})
}

// Periods are how often recompute's periodic jobs run; zero is the
// default, negative turns the job off.
type Periods struct {
	// Schedule: queueing the segments due by their refresh interval
	// (default a minute).
	Schedule time.Duration
	// Reconcile: re-queueing the runs whose job vanished (default 15 s).
	Reconcile time.Duration
}

// DefaultReconcilePeriod is how often runs whose job vanished are looked
// for: such a run is queued again within this period.
const DefaultReconcilePeriod = 15 * time.Second

// PeriodicJobs are recompute's periodic jobs; River's leader inserts them.
func PeriodicJobs(p Periods) []*river.PeriodicJob {
	var jobs []*river.PeriodicJob
	if p.Schedule == 0 {
		p.Schedule = time.Minute
	}
	if p.Reconcile == 0 {
		p.Reconcile = DefaultReconcilePeriod
	}
	if p.Schedule > 0 {
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(p.Schedule),
			func() (river.JobArgs, *river.InsertOpts) { return scheduleArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	if p.Reconcile > 0 {
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(p.Reconcile),
			func() (river.JobArgs, *river.InsertOpts) { return reconcileArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	return jobs
}
