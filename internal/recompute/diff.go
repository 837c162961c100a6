package recompute

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// result is what one run changed.
type result struct {
	Entered, Exited, Size int
	Duration              time.Duration
}

// applyDiff replaces the segment's current members with the rule's, inside
// tx: users who left get their open interval closed and their current row
// removed; users who entered get both opened. The segment row is locked
// first, so runs of one segment never interleave.
func applyDiff(ctx context.Context, tx *sql.Tx, a Args, q segment.Query, static bool, at time.Time) (result, error) {
	var res result
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM segments WHERE id = $1 FOR UPDATE`, a.SegmentID); err != nil {
		return res, fmt.Errorf("lock segment %d: %w", a.SegmentID, err)
	}
	if static {
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM segment_members WHERE segment_id = $1`, a.SegmentID).Scan(&res.Size)
		return res, err
	}
	// A rule aggregates per user over every user of the project; with the
	// default work_mem those aggregates spill to disk on large projects.
	if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '128MB'`); err != nil {
		return res, fmt.Errorf("tune recompute: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE new_members (id bigint PRIMARY KEY) ON COMMIT DROP`); err != nil {
		return res, fmt.Errorf("stage members: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO new_members `+q.SQL, q.Args...); err != nil {
		return res, fmt.Errorf("evaluate rule of segment %d: %w", a.SegmentID, err)
	}
	err := tx.QueryRowContext(ctx, `
		WITH exited AS (
			DELETE FROM segment_members sm WHERE sm.segment_id = $1
			AND NOT EXISTS (SELECT 1 FROM new_members n WHERE n.id = sm.user_id)
			RETURNING user_id
		), closed AS (
			UPDATE segment_memberships m SET exited_at = $2, exited_run_id = $3
			FROM exited e WHERE m.segment_id = $1 AND m.user_id = e.user_id AND m.exited_at IS NULL
		)
		SELECT count(*) FROM exited`, a.SegmentID, at, a.RunID).Scan(&res.Exited)
	if err != nil {
		return res, fmt.Errorf("remove leavers of segment %d: %w", a.SegmentID, err)
	}
	err = tx.QueryRowContext(ctx, `
		WITH entered AS (
			INSERT INTO segment_members (segment_id, user_id, entered_at)
			SELECT $1, id, $2 FROM new_members
			ON CONFLICT (segment_id, user_id) DO NOTHING
			RETURNING user_id
		), opened AS (
			INSERT INTO segment_memberships (project_id, segment_id, user_id, entered_at, entered_run_id)
			SELECT $4, $1, user_id, $2, $3 FROM entered
		)
		SELECT count(*) FROM entered`, a.SegmentID, at, a.RunID, a.ProjectID).Scan(&res.Entered)
	if err != nil {
		return res, fmt.Errorf("add entrants of segment %d: %w", a.SegmentID, err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM new_members`).Scan(&res.Size); err != nil {
		return res, fmt.Errorf("size of segment %d: %w", a.SegmentID, err)
	}
	return res, nil
}

// finish completes the run with the next sequence number of its segment,
// updates the segment, and announces the run; all inside tx, so the
// announcement is delivered only if the run commits.
func finish(ctx context.Context, tx *sql.Tx, a Args, res result) error {
	var seq int
	err := tx.QueryRowContext(ctx, `
		UPDATE segment_runs SET status = 'COMPLETED', finished_at = now(), error = NULL,
			entered_count = $2, exited_count = $3, size_after = $4, duration_ms = $5,
			seq = (SELECT COALESCE(max(seq), 0) + 1 FROM segment_runs WHERE segment_id = $6)
		WHERE id = $1 RETURNING seq`,
		a.RunID, res.Entered, res.Exited, res.Size, res.Duration.Milliseconds(), a.SegmentID).Scan(&seq)
	if err != nil {
		return fmt.Errorf("complete run %d: %w", a.RunID, err)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE segments SET status = 'READY', size = $2, last_computed_at = now(), last_error = NULL WHERE id = $1`,
		a.SegmentID, res.Size); err != nil {
		return fmt.Errorf("update segment %d: %w", a.SegmentID, err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, notification(a, seq)); err != nil {
		return fmt.Errorf("announce run %d: %w", a.RunID, err)
	}
	return nil
}
