package recompute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
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
// the id of the PENDING run. When a job for the segment is already waiting
// or running, no second one is made and its run is returned instead.
func (e *Enqueuer) Enqueue(ctx context.Context, projectID, segmentID int, trigger segmentrun.Trigger) (int, error) {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin enqueue: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var runID int
	err = tx.QueryRowContext(ctx, `
		INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, entered_count, exited_count)
		SELECT project_id, id, $3, 'PENDING', now(), 0, 0 FROM segments
		WHERE id = $2 AND project_id = $1 AND archived_at IS NULL
		RETURNING id`, projectID, segmentID, string(trigger)).Scan(&runID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("enqueue segment %d: %w", segmentID, ErrNoSegment)
	}
	if err != nil {
		return 0, fmt.Errorf("create run of segment %d: %w", segmentID, err)
	}
	res, err := e.river.InsertTx(ctx, tx, Args{SegmentID: segmentID, ProjectID: projectID, RunID: runID}, nil)
	if err != nil {
		return 0, fmt.Errorf("insert recompute job of segment %d: %w", segmentID, err)
	}
	if res.UniqueSkippedAsDuplicate {
		// The waiting job already has its run: drop ours and return that one.
		_ = tx.Rollback()
		var existing int
		err := e.db.QueryRowContext(ctx, `SELECT id FROM segment_runs WHERE job_id = $1 AND project_id = $2`, res.Job.ID, projectID).Scan(&existing)
		if err != nil {
			return 0, fmt.Errorf("find the run of job %d: %w", res.Job.ID, err)
		}
		return existing, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segment_runs SET job_id = $1 WHERE id = $2`, res.Job.ID, runID); err != nil {
		return 0, fmt.Errorf("record job of run %d: %w", runID, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit enqueue: %w", err)
	}
	return runID, nil
}
