package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Transition is one cell of a transition matrix: how many users were in
// From at the first instant and in To at the second. A nil segment is
// "none": in none of the segments compared.
type Transition struct {
	From, To *ent.Segment
	Users    int
}

// transitionsSQL reads the membership intervals of the segments in $2 that
// cover $3 or $4 and places each user at each instant in the first segment
// of $2 holding them then (array position, 1-based; NULL for none). An
// interval covers t when entered_at <= t and it was not exited by t, the
// rule of membersAt.
const transitionsSQL = `
SELECT at_from, at_to, count(*)::int FROM (
	SELECT sm.user_id,
		min(array_position($2::bigint[], sm.segment_id))
			FILTER (WHERE sm.entered_at <= $3 AND (sm.exited_at IS NULL OR sm.exited_at > $3)) AS at_from,
		min(array_position($2::bigint[], sm.segment_id))
			FILTER (WHERE sm.entered_at <= $4 AND (sm.exited_at IS NULL OR sm.exited_at > $4)) AS at_to
	FROM segment_memberships sm
	WHERE sm.project_id = $1 AND sm.segment_id = ANY($2::bigint[])
	  AND sm.entered_at <= $4 AND (sm.exited_at IS NULL OR sm.exited_at > $3)
	GROUP BY sm.user_id
) per_user
WHERE at_from IS NOT NULL OR at_to IS NOT NULL
GROUP BY at_from, at_to`

// SegmentTransitions is the matrix of how users moved between the given
// segments (1 to MaxSegments, distinct) from one instant to a later one,
// from the membership history. Segments may overlap: a user in several at
// an instant counts in the first of them in the list, so list them from
// the most to the least specific. Every cell is present, zeros included, in
// list order with "none" (nil) last, except none to none.
func (s *Service) SegmentTransitions(ctx context.Context, segmentIDs []int, from, to time.Time) ([]Transition, error) {
	if from.After(to) {
		return nil, invalid.Field("from", "from %s is after to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	segments, err := s.segmentList(ctx, "segmentIds", segmentIDs, 1)
	if err != nil {
		return nil, err
	}
	n := len(segments) + 1 // the segments, then none
	matrix := make([][]int, n)
	for i := range matrix {
		matrix[i] = make([]int, n)
	}
	err = s.read(ctx, func(snap *snapshot) error {
		rows, err := snap.tx.QueryContext(ctx, transitionsSQL, snap.projectID, pq.Array(ids(segments)), from, to)
		if err != nil {
			return fmt.Errorf("segment transitions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var atFrom, atTo sql.NullInt64
			var users int
			if err := rows.Scan(&atFrom, &atTo, &users); err != nil {
				return fmt.Errorf("segment transitions: %w", err)
			}
			matrix[position(atFrom, n)][position(atTo, n)] = users
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	segment := func(i int) *ent.Segment {
		if i == n-1 {
			return nil
		}
		return segments[i]
	}
	out := make([]Transition, 0, n*n-1)
	for i := range n {
		for j := range n {
			if i == n-1 && j == n-1 {
				continue
			}
			out = append(out, Transition{From: segment(i), To: segment(j), Users: matrix[i][j]})
		}
	}
	return out, nil
}

// position turns a 1-based array position into a matrix index, NULL (in
// none of the segments) into the last one.
func position(p sql.NullInt64, n int) int {
	if !p.Valid {
		return n - 1
	}
	return int(p.Int64) - 1
}
