package recompute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
)

// scheduleArgs is the periodic job that enqueues due segments.
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "schedule_recomputes" }

func (scheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: 30 * time.Second}}
}

type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	db *sql.DB
}

// dueSegmentsSQL finds the active dynamic segments whose last computation
// is older than their refresh interval and that have no run waiting or
// running (that run will do; a run whose job vanished is re-queued by
// the reconciliation, so it never blocks a segment for long).
const dueSegmentsSQL = `
SELECT project_id, id FROM segments
WHERE archived_at IS NULL AND kind = 'DYNAMIC'
AND (last_computed_at IS NULL OR last_computed_at + refresh_interval_seconds * interval '1 second' <= now())
AND NOT EXISTS (SELECT 1 FROM segment_runs r WHERE r.segment_id = segments.id AND r.status IN ('PENDING', 'RUNNING'))
ORDER BY id`

// Work enqueues a SCHEDULE run of every due segment.
func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[scheduleArgs]) error {
	due, err := dueSegments(ctx, w.db)
	if err != nil {
		return err
	}
	enqueuer := NewEnqueuer(w.db, river.ClientFromContext[*sql.Tx](ctx))
	for _, d := range due {
		_, err := enqueuer.Enqueue(ctx, d.project, d.segment, segmentrun.TriggerSCHEDULE)
		if errors.Is(err, ErrNoSegment) {
			continue // archived since
		}
		if err != nil {
			return fmt.Errorf("schedule segment %d: %w", d.segment, err)
		}
	}
	return nil
}

type dueSegment struct{ project, segment int }

func dueSegments(ctx context.Context, db *sql.DB) ([]dueSegment, error) {
	rows, err := db.QueryContext(ctx, dueSegmentsSQL)
	if err != nil {
		return nil, fmt.Errorf("find due segments: %w", err)
	}
	defer rows.Close()
	var due []dueSegment
	for rows.Next() {
		var d dueSegment
		if err := rows.Scan(&d.project, &d.segment); err != nil {
			return nil, fmt.Errorf("find due segments: %w", err)
		}
		due = append(due, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find due segments: %w", err)
	}
	return due, nil
}
