package recompute

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// drift is, for a reconciling full recompute of a real-time segment, how
// many of the users it moves the incremental path had not: users with no
// mark waiting for a pass and no window passed since the last sweep. It
// is nil for a recompute that reconciles nothing: of a segment that is not
// real time, the first of a segment, or one after its definition changed.
// The caller holds the segment's membership lock, so no pass takes a mark
// meanwhile.
func (w *Worker) drift(ctx context.Context, tx *sql.Tx, a Args, def definition, members, current []int64) (*int, error) {
	if !def.realtime {
		return nil, nil
	}
	var reconciles bool
	err := tx.QueryRowContext(ctx, `
		SELECT r.trigger <> 'DEFINITION_CHANGE' AND EXISTS (
			SELECT 1 FROM segment_runs p WHERE p.segment_id = r.segment_id AND p.status = 'COMPLETED' AND p.trigger <> 'INGEST' AND p.id <> r.id)
		FROM segment_runs r WHERE r.id = $1`, a.RunID).Scan(&reconciles)
	if err != nil {
		return nil, fmt.Errorf("drift of run %d: %w", a.RunID, err)
	}
	if !reconciles {
		return nil, nil
	}
	entered, exited := diffSorted(members, current)
	moved := slices.Concat(entered, exited)
	n := 0
	if len(moved) > 0 {
		pending, err := pendingUsers(ctx, tx, a.SegmentID, def, moved)
		if err != nil {
			return nil, err
		}
		for _, id := range moved {
			if _, found := slices.BinarySearch(pending, id); !found {
				n++
			}
		}
	}
	return &n, nil
}

// pendingUsers are those of users the incremental path has yet to
// evaluate: marked dirty, or crossing a window since the last sweep.
// Sorted.
func pendingUsers(ctx context.Context, tx *sql.Tx, segmentID int, def definition, users []int64) ([]int64, error) {
	var pending pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(user_id), '{}') FROM segment_dirty_users WHERE segment_id = $1 AND user_id = ANY($2::bigint[])`,
		segmentID, pq.Array(users)).Scan(&pending); err != nil {
		return nil, fmt.Errorf("dirty users of segment %d: %w", segmentID, err)
	}
	if def.sweptAt != nil && def.sweptAt.Before(def.env.Now) {
		q, err := segment.Crossers(def.rule, def.env, *def.sweptAt, def.env.Now)
		if err != nil {
			return nil, fmt.Errorf("crossers of segment %d: %w", segmentID, err)
		}
		if q.SQL != "" {
			var crossing pq.Int64Array
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(user_id), '{}') FROM (`+q.SQL+`) c(user_id)`, q.Args...).Scan(&crossing); err != nil {
				return nil, fmt.Errorf("crossers of segment %d: %w", segmentID, err)
			}
			pending = append(pending, crossing...)
		}
	}
	slices.Sort(pending)
	return slices.Compact([]int64(pending)), nil
}
