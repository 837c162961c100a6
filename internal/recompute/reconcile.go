package recompute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// reconcileArgs is the periodic job that finds runs whose job vanished.
type reconcileArgs struct{}

func (reconcileArgs) Kind() string { return "reconcile_segment_runs" }

func (reconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: 5 * time.Second}}
}

// reconcileWorker keeps every PENDING or RUNNING run backed by a live job.
// A job can vanish under its run: deleted (River's UI), cancelled, or
// discarded after its process died on every attempt; a follow-up run
// loses the job meant to adopt it when that job fails for good. Such a run
// would otherwise stay PENDING or RUNNING forever, answer every request
// for its segment and keep the scheduler off it.
type reconcileWorker struct {
	river.WorkerDefaults[reconcileArgs]
	db *sql.DB
}

// orphanRunsSQL finds the waiting or running runs without a live job. It
// reads every PENDING or RUNNING run (few: the others are finished).
const orphanRunsSQL = `
SELECT r.id, r.segment_id, r.project_id FROM segment_runs r LEFT JOIN river_job j ON j.id = r.job_id
WHERE r.status IN ('PENDING', 'RUNNING') AND (j.id IS NULL OR j.state IN ('completed', 'cancelled', 'discarded'))
ORDER BY r.id`

// Work reconciles every orphaned run.
func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[reconcileArgs]) error {
	orphans, err := orphanRuns(ctx, w.db)
	if err != nil {
		return err
	}
	client := river.ClientFromContext[*sql.Tx](ctx)
	for _, a := range orphans {
		if err := reconcile(ctx, w.db, client, a); err != nil {
			return err
		}
	}
	return nil
}

func orphanRuns(ctx context.Context, db *sql.DB) ([]Args, error) {
	rows, err := db.QueryContext(ctx, orphanRunsSQL)
	if err != nil {
		return nil, fmt.Errorf("find orphaned runs: %w", err)
	}
	defer rows.Close()
	var orphans []Args
	for rows.Next() {
		var a Args
		if err := rows.Scan(&a.RunID, &a.SegmentID, &a.ProjectID); err != nil {
			return nil, fmt.Errorf("find orphaned runs: %w", err)
		}
		orphans = append(orphans, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find orphaned runs: %w", err)
	}
	return orphans, nil
}

// reconcile re-checks one orphaned run under its segment's lock, then
// queues it again: with a new job, or, when another job of the segment is
// live, as the follow-up that job adopts when it commits. A run whose job
// was cancelled or discarded is closed FAILED instead (queueing it again
// would undo an operator's cancel, or loop on a job that kills its
// process); the scheduler queues a new run when the segment is due.
func reconcile(ctx context.Context, db *sql.DB, client *river.Client[*sql.Tx], a Args) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin reconcile: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// SKIP LOCKED: a segment being written is left to its writer, and to
	// the next pass.
	var archived bool
	err = tx.QueryRowContext(ctx, `SELECT archived_at IS NOT NULL FROM segments WHERE id = $1 FOR UPDATE SKIP LOCKED`, a.SegmentID).Scan(&archived)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock segment %d: %w", a.SegmentID, err)
	}
	var jobState sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT j.state::text FROM segment_runs r LEFT JOIN river_job j ON j.id = r.job_id
		WHERE r.id = $1 AND r.status IN ('PENDING', 'RUNNING') AND (j.id IS NULL OR j.state IN ('completed', 'cancelled', 'discarded'))
		FOR UPDATE OF r`, a.RunID).Scan(&jobState)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no longer orphaned
	}
	if err != nil {
		return fmt.Errorf("lock run %d: %w", a.RunID, err)
	}
	switch {
	case archived:
		err = closeRun(ctx, tx, a, "the segment was archived before this run could complete")
	case jobState.String == "cancelled" || jobState.String == "discarded":
		err = closeRun(ctx, tx, a, fmt.Sprintf("its job was %s before the run could complete", jobState.String))
	default:
		err = requeue(ctx, tx, client, a)
	}
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit reconcile of run %d: %w", a.RunID, err)
	}
	return nil
}

// requeue gives the run a new job, or makes it the follow-up of the
// segment's live job.
func requeue(ctx context.Context, tx *sql.Tx, client *river.Client[*sql.Tx], a Args) error {
	res, err := client.InsertTx(ctx, tx, a, nil)
	if err != nil {
		return fmt.Errorf("requeue run %d: %w", a.RunID, err)
	}
	var jobID sql.NullInt64
	if !res.UniqueSkippedAsDuplicate {
		jobID = sql.NullInt64{Int64: res.Job.ID, Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segment_runs SET status = 'PENDING', job_id = $2, started_at = NULL WHERE id = $1`,
		a.RunID, jobID); err != nil {
		return fmt.Errorf("requeue run %d: %w", a.RunID, err)
	}
	return nil
}

// closeRun marks the run FAILED, for good, with why.
func closeRun(ctx context.Context, tx *sql.Tx, a Args, why string) error {
	_, err := tx.ExecContext(ctx, `
		WITH run AS (UPDATE segment_runs SET status = 'FAILED', error = $3, finished_at = now() WHERE id = $2 RETURNING id),
		seg AS (UPDATE segments SET status = 'FAILED', last_error = $3 WHERE id = $1 AND archived_at IS NULL)
		SELECT pg_notify($4, $5)`,
		a.SegmentID, a.RunID, why, NotifyChannel, notification(a, "FAILED", 0, true))
	if err != nil {
		return fmt.Errorf("close run %d: %w", a.RunID, err)
	}
	return nil
}
