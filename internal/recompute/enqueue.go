package recompute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/audit"
)

// Enqueuer creates PENDING runs and their River jobs.
type Enqueuer struct {
	db    *sql.DB
	river *river.Client[*sql.Tx]
}

// NewEnqueuer returns an Enqueuer; the River client only needs to insert.
func NewEnqueuer(db *sql.DB, client *river.Client[*sql.Tx]) *Enqueuer {
	return &Enqueuer{db: db, river: client}
}

// Enqueue requests a recompute of segment segmentID of projectID and returns
// the id of the PENDING run that will answer it:
//   - no job of the segment is queued or running: a new run and its job;
//   - a job is waiting (not started): its run, which will read the data as
//     it is when it starts;
//   - a job is running: it may already have read the data, so a follow-up
//     run, without a job yet; the running one queues it when it commits
//     (see adoptFollowUp). Requests while it runs share one follow-up.
//
// The segment's row lock orders this against the completion of a running
// run, which takes the same lock: a follow-up recorded here is always seen
// by that completion.
func (e *Enqueuer) Enqueue(ctx context.Context, projectID, segmentID int, trigger segmentrun.Trigger) (int, error) {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin enqueue: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	runID, err := e.EnqueueTx(ctx, tx, projectID, segmentID, trigger)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit enqueue: %w", err)
	}
	return runID, nil
}

// EnqueueTx is Enqueue in tx, which the caller commits: the run and its
// job are requested exactly when tx commits.
func (e *Enqueuer) EnqueueTx(ctx context.Context, tx *sql.Tx, projectID, segmentID int, trigger segmentrun.Trigger) (int, error) {
	// NO KEY UPDATE conflicts with the worker's FOR UPDATE and with other
	// enqueues, not with the key-share locks of foreign key checks.
	err := tx.QueryRowContext(ctx, `SELECT id FROM segments WHERE id = $2 AND project_id = $1 AND archived_at IS NULL FOR NO KEY UPDATE`,
		projectID, segmentID).Scan(&segmentID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("enqueue segment %d: %w", segmentID, ErrNoSegment)
	}
	if err != nil {
		return 0, fmt.Errorf("lock segment %d: %w", segmentID, err)
	}
	runID, err := insertRun(ctx, tx, projectID, segmentID, trigger)
	if err != nil {
		return 0, err
	}
	res, err := e.river.InsertTx(ctx, tx, Args{SegmentID: segmentID, ProjectID: projectID, RunID: runID}, nil)
	if err != nil {
		return 0, fmt.Errorf("insert recompute job of segment %d: %w", segmentID, err)
	}
	if !res.UniqueSkippedAsDuplicate {
		if _, err := tx.ExecContext(ctx, `UPDATE segment_runs SET job_id = $1 WHERE id = $2`, res.Job.ID, runID); err != nil {
			return 0, fmt.Errorf("record job of run %d: %w", runID, err)
		}
	} else if res.Job.State != rivertype.JobStateRunning {
		// The waiting job already has its run: drop ours, answer with that.
		existing, err := e.runOfJob(ctx, tx, res.Job.ID, projectID)
		if err != nil {
			return 0, err
		}
		requested(ctx, trigger, segmentID, existing)
		return existing, dropRun(ctx, tx, runID)
	} else if followUp, err := followUpRun(ctx, tx, segmentID, runID); err != nil {
		return 0, err
	} else if followUp != 0 {
		requested(ctx, trigger, segmentID, followUp)
		return followUp, dropRun(ctx, tx, runID)
	}
	if trigger == segmentrun.TriggerMANUAL {
		// An admin's request is in the audit log exactly when its run is.
		if err := audit.Record(ctx, tx, segmentID, nil, queuedRun(runID)); err != nil {
			return 0, err
		}
	}
	return runID, nil
}

// dropRun deletes the run a request made that another run answers.
func dropRun(ctx context.Context, tx *sql.Tx, runID int) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM segment_runs WHERE id = $1`, runID); err != nil {
		return fmt.Errorf("drop run %d: %w", runID, err)
	}
	return nil
}

// requested attaches to the audit entry of an admin's request that queued
// no run of its own the run that will answer it: the request changed
// nothing, and the entry is written once the mutation succeeded.
func requested(ctx context.Context, trigger segmentrun.Trigger, segmentID, runID int) {
	if trigger == segmentrun.TriggerMANUAL && runID != 0 {
		audit.Change(ctx, segmentID, nil, queuedRun(runID))
	}
}

// queuedRun is what an audit entry says a recompute request queued.
func queuedRun(runID int) map[string]any {
	return map[string]any{"runId": strconv.Itoa(runID)}
}

func insertRun(ctx context.Context, tx *sql.Tx, projectID, segmentID int, trigger segmentrun.Trigger) (int, error) {
	var runID int
	err := tx.QueryRowContext(ctx, `
		INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, entered_count, exited_count)
		VALUES ($1, $2, $3, 'PENDING', now(), 0, 0) RETURNING id`, projectID, segmentID, string(trigger)).Scan(&runID)
	if err != nil {
		return 0, fmt.Errorf("create run of segment %d: %w", segmentID, err)
	}
	return runID, nil
}

// runOfJob is the run a job works, read in tx (which is rolled back).
func (e *Enqueuer) runOfJob(ctx context.Context, tx *sql.Tx, jobID int64, projectID int) (int, error) {
	var existing int
	err := tx.QueryRowContext(ctx, `SELECT id FROM segment_runs WHERE job_id = $1 AND project_id = $2`, jobID, projectID).Scan(&existing)
	if err != nil {
		return 0, fmt.Errorf("find the run of job %d: %w", jobID, err)
	}
	return existing, nil
}

// followUpRun is the follow-up already waiting for the segment's running
// job (the oldest PENDING run without a job), other than run except, or 0.
// The caller holds the segment's lock.
func followUpRun(ctx context.Context, tx *sql.Tx, segmentID, except int) (int, error) {
	var id int
	err := tx.QueryRowContext(ctx, `SELECT id FROM segment_runs WHERE segment_id = $1 AND status = 'PENDING' AND job_id IS NULL AND id <> $2
		ORDER BY id LIMIT 1`, segmentID, except).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("follow-up run of segment %d: %w", segmentID, err)
	}
	return id, nil
}

// adoptFollowUp queues the follow-up run of the segment, if any, in tx: the
// transaction that completes the segment's running job, under the
// segment's lock.
func adoptFollowUp(ctx context.Context, tx *sql.Tx, client *river.Client[*sql.Tx], a Args) error {
	followUp, err := followUpRun(ctx, tx, a.SegmentID, a.RunID)
	if err != nil || followUp == 0 {
		return err
	}
	res, err := client.InsertTx(ctx, tx, Args{SegmentID: a.SegmentID, ProjectID: a.ProjectID, RunID: followUp}, nil)
	if err != nil {
		return fmt.Errorf("queue follow-up run %d: %w", followUp, err)
	}
	if res.UniqueSkippedAsDuplicate {
		return nil // another job of the segment is live; it adopts the follow-up
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segment_runs SET job_id = $1 WHERE id = $2`, res.Job.ID, followUp); err != nil {
		return fmt.Errorf("record job of run %d: %w", followUp, err)
	}
	return nil
}
