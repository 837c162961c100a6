package retention

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/internal/fault"
)

// Worker runs apply_retention jobs.
type Worker struct {
	river.WorkerDefaults[Args]
	db   *sql.DB
	opts Options
}

// Timeout bounds one run.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return Timeout }

// Work deletes what the project keeps no longer. A run that used up its
// budget snoozes, to go on at once as a new run (a snooze is not a failed
// attempt). A change of the retention while it ran is applied before it
// completes: it reads the setting again at the end, and starts over if it
// moved.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	started := time.Now()
	for {
		s, err := loadSetting(ctx, w.db, job.Args.ProjectID)
		if err != nil || s.days == 0 {
			return err
		}
		_, done, err := apply(ctx, w.db, job.Args.ProjectID, s, w.opts, started)
		if err != nil {
			return err
		}
		if !done {
			return river.JobSnooze(0)
		}
		after, err := loadSetting(ctx, w.db, job.Args.ProjectID)
		if err != nil || after == s {
			return err
		}
	}
}

// Apply deletes what project projectID keeps no longer as of opts.Now, in
// batches of at most opts.BatchSize rows, each its own transaction, until
// nothing expired is left or opts.Budget is spent (done false). It
// returns the rows it deleted by table. A project without a retention
// (or none at all) has nothing to delete.
func Apply(ctx context.Context, db *sql.DB, projectID int, opts Options) (removed Removed, done bool, err error) {
	s, err := loadSetting(ctx, db, projectID)
	if err != nil || s.days == 0 {
		return Removed{}, err == nil, err
	}
	return apply(ctx, db, projectID, s, opts.withDefaults(), time.Now())
}

// Removed counts deleted rows by table.
type Removed map[string]int

// setting is a project's retention as the job reads it.
type setting struct {
	days     int // 0: none
	timezone string
}

func loadSetting(ctx context.Context, db *sql.DB, projectID int) (setting, error) {
	var (
		s    setting
		days sql.NullInt64
	)
	err := db.QueryRowContext(ctx, `SELECT retention_days, timezone FROM projects WHERE id = $1`, projectID).Scan(&days, &s.timezone)
	if errors.Is(err, sql.ErrNoRows) {
		return setting{}, nil // deleted since: nothing to do
	}
	if err != nil {
		return s, fmt.Errorf("load the retention of project %d: %w", projectID, err)
	}
	s.days = int(days.Int64)
	return s, nil
}

// apply is Apply with the setting read and a budget counted from started.
func apply(ctx context.Context, db *sql.DB, projectID int, s setting, opts Options, started time.Time) (Removed, bool, error) {
	loc, err := time.LoadLocation(s.timezone)
	if err != nil {
		return nil, false, fmt.Errorf("project %d time zone %q: %w", projectID, s.timezone, err)
	}
	r := &run{db: db, project: projectID, cutoff: CutoffAt(opts.Now(), loc, s.days), opts: opts,
		deadline: started.Add(opts.Budget), removed: Removed{}}
	for _, table := range []func(context.Context) (bool, error){r.events, r.dailyActivity, r.feedback, r.surveyResponses} {
		done, err := table(ctx)
		if err != nil || !done {
			return r.removed, false, err
		}
	}
	return r.removed, true, nil
}

// run is one pass over a project's tables with one cutoff.
type run struct {
	db       *sql.DB
	project  int
	cutoff   Cutoff
	opts     Options
	deadline time.Time
	removed  Removed
}

// deleted records a committed batch's rows of table.
func (r *run) deleted(ctx context.Context, table string, rows int) {
	if rows > 0 {
		r.count(table, rows)
		fault.Pause(ctx, "retention-batch", fmt.Sprintf("project=%d table=%s rows=%d", r.project, table, rows))
	}
}

// spent reports whether the pass has used up its budget.
func (r *run) spent() bool { return !time.Now().Before(r.deadline) }

// count records deleted rows of table.
func (r *run) count(table string, rows int) {
	if rows > 0 {
		r.removed[table] += rows
		r.opts.OnDeleted(table, rows)
	}
}
