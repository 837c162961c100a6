package recompute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/internal/jobstate"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// sweepArgs is the periodic job of real time: it turns the windows that
// passing time moved into marks, then queues a pass for every segment
// with marks. Its period is the delay marks gather for.
type sweepArgs struct{}

func (sweepArgs) Kind() string { return "segment_sweep" }

func (sweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:      QueueRealtime,
		UniqueOpts: river.UniqueOpts{ByState: jobstate.WaitingOrRunning()},
	}
}

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	db     *sql.DB
	now    func() time.Time
	logger *slog.Logger
}

// Work sweeps the windows of every real-time segment up to now, then
// dispatches the passes. A segment the sweep cannot handle is logged and
// left for the next sweep, which covers its longer interval: failing the
// job would hold up every project's real time until River retried it.
func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	if err := Sweep(ctx, w.db, w.now()); err != nil {
		if ctx.Err() != nil {
			return err
		}
		w.logger.WarnContext(ctx, "real-time sweep", "error", err)
	}
	return dispatch(ctx, w.db, river.ClientFromContext[*sql.Tx](ctx))
}

// swept is a real-time segment with windows, as the sweep reads it.
type swept struct {
	id, project int
	rule        []byte
	timezone    string
	retention   int // days; 0: none
	sweptAt     *time.Time
}

// Sweep marks, for every real-time segment, the users a window of its rule
// let go of (or took in) between its last sweep and now, and moves its
// sweep instant to now, in one transaction per segment. Its marks are new
// ones, as ingestion's are (see dirty.Mark): a pass that read an earlier
// mark of the same user may have evaluated at an earlier instant. A
// segment another transaction holds is swept next time, over the longer
// interval. A segment that fails does not stop the others: Sweep returns
// the failures joined once every segment had its turn.
func Sweep(ctx context.Context, db *sql.DB, now time.Time) error {
	return sweep(ctx, db, 0, now)
}

// SweepProject is Sweep of one project's segments.
func SweepProject(ctx context.Context, db *sql.DB, projectID int, now time.Time) error {
	return sweep(ctx, db, projectID, now)
}

// sweep sweeps the segments of projectID, or of every project for 0.
func sweep(ctx context.Context, db *sql.DB, projectID int, now time.Time) error {
	segments, err := realtimeSegments(ctx, db, projectID)
	if err != nil {
		return err
	}
	var failed []error
	for _, s := range segments {
		if err := sweepSegment(ctx, db, s, now); err != nil {
			if ctx.Err() != nil {
				return err
			}
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

func realtimeSegments(ctx context.Context, db *sql.DB, projectID int) ([]swept, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT s.id, s.project_id, s.rule, p.timezone, COALESCE(p.retention_days, 0), s.swept_at FROM segments s JOIN projects p ON p.id = s.project_id
		WHERE s.realtime_sources IS NOT NULL AND s.archived_at IS NULL AND s.kind = 'DYNAMIC' AND p.realtime
			AND ($1::bigint = 0 OR s.project_id = $1)
		ORDER BY s.id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("find real-time segments: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []swept
	for rows.Next() {
		var s swept
		if err := rows.Scan(&s.id, &s.project, &s.rule, &s.timezone, &s.retention, &s.sweptAt); err != nil {
			return nil, fmt.Errorf("find real-time segments: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find real-time segments: %w", err)
	}
	return out, nil
}

func sweepSegment(ctx context.Context, db *sql.DB, s swept, now time.Time) error {
	if s.sweptAt != nil && !s.sweptAt.Before(now) {
		return nil
	}
	r, err := segment.Decode(s.rule)
	if err != nil {
		return fmt.Errorf("segment %d: %w", s.id, err)
	}
	loc, err := time.LoadLocation(s.timezone)
	if err != nil {
		return fmt.Errorf("project time zone %q: %w", s.timezone, err)
	}
	var q segment.Query
	if s.sweptAt != nil {
		if q, err = segment.Crossers(r, segment.Env{ProjectID: s.project, Location: loc, RetentionDays: s.retention}, *s.sweptAt, now); err != nil {
			return fmt.Errorf("crossers of segment %d: %w", s.id, err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin sweep of segment %d: %w", s.id, err)
	}
	defer func() { _ = tx.Rollback() }()
	// Under the row's lock, the sweep instant must still be the one the
	// crossers were compiled from: a concurrent sweep that got there first
	// covered the interval, and writing ours would move the instant back.
	var sweptAt *time.Time
	switch err := tx.QueryRowContext(ctx, `SELECT swept_at FROM segments WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED`, s.id).Scan(&sweptAt); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("lock segment %d for its sweep: %w", s.id, err)
	case !sameInstant(sweptAt, s.sweptAt):
		return nil
	}
	if q.SQL != "" {
		n := len(q.Args)
		args := slices.Concat(q.Args, []any{s.project, s.id})
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`
			INSERT INTO segment_dirty_users (project_id, segment_id, user_id, marked_at)
			SELECT $%d, $%d, c.user_id, now() FROM (%s) c(user_id)`, n+1, n+2, q.SQL), args...); err != nil {
			return fmt.Errorf("mark the crossers of segment %d: %w", s.id, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segments SET swept_at = $2 WHERE id = $1`, s.id, now); err != nil {
		return fmt.Errorf("record sweep of segment %d: %w", s.id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit sweep of segment %d: %w", s.id, err)
	}
	return nil
}

func sameInstant(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// dispatch queues a pass of every segment with marks.
func dispatch(ctx context.Context, db *sql.DB, client *river.Client[*sql.Tx]) error {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT ON (segment_id) segment_id, project_id FROM segment_dirty_users ORDER BY segment_id`)
	if err != nil {
		return fmt.Errorf("find dirty segments: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var params []river.InsertManyParams
	for rows.Next() {
		var a PassArgs
		if err := rows.Scan(&a.SegmentID, &a.ProjectID); err != nil {
			return fmt.Errorf("find dirty segments: %w", err)
		}
		params = append(params, river.InsertManyParams{Args: a})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find dirty segments: %w", err)
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("queue passes: %w", err)
	}
	return nil
}
