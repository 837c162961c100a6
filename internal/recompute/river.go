package recompute

import (
	"database/sql"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
)

// Options configure recompute's workers.
type Options struct {
	// Now is the clock runs and sweeps measure windows with (default
	// time.Now); tests move it.
	Now func() time.Time
	// Delay is how long marks gather before a pass (the sweep's period,
	// default DefaultDelay). Snoozed passes wait as long.
	Delay time.Duration
	// OnDrift observes the drift of each reconciling full recompute.
	OnDrift func(int)
	// Logger receives what a job survives but an operator must hear of,
	// such as a segment the sweep cannot read (default: discarded).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Delay <= 0 {
		o.Delay = DefaultDelay
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// AddWorkers registers the workers of recompute's jobs: full recomputes,
// incremental passes, the sweep of real time, the scheduler and the
// reconciliation of runs whose job vanished.
func AddWorkers(workers *river.Workers, db *sql.DB, opts Options) {
	opts = opts.withDefaults()
	river.AddWorker(workers, &Worker{db: db, now: opts.Now, onDrift: opts.OnDrift})
	river.AddWorker(workers, &passWorker{db: db, now: opts.Now, delay: opts.Delay})
	river.AddWorker(workers, &sweepWorker{db: db, now: opts.Now, logger: opts.Logger})
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
	// Sweep: turning passed windows and marks into passes (default
	// DefaultDelay).
	Sweep time.Duration
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
	if p.Sweep == 0 {
		p.Sweep = DefaultDelay
	}
	if p.Sweep > 0 {
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(p.Sweep),
			func() (river.JobArgs, *river.InsertOpts) { return sweepArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
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
