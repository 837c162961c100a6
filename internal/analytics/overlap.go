package analytics

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent"
)

// Overlap is how much two segments' current members overlap.
type Overlap struct {
	A, B *ent.Segment
	// Intersection is the users in both.
	Intersection int
	// Jaccard is the intersection over the union (0..1), 0 when both are
	// empty.
	Jaccard float64
}

// overlapSQL gives every member of the segments in $2 a bit mask of the
// segments (bit i for $2[i+1]) they are in, and counts users per mask. There
// are few distinct masks, so the pairs are summed in Go: one pass over the
// members whatever the number of pairs. segment_members carries no project
// id; the join to segments keeps to the project.
const overlapSQL = `
SELECT mask, count(*)::int FROM (
	SELECT m.user_id, bit_or(1::bigint << (array_position($2::bigint[], m.segment_id) - 1)) AS mask
	FROM segment_members m
	JOIN segments s ON s.id = m.segment_id AND s.project_id = $1
	WHERE m.segment_id = ANY($2::bigint[])
	GROUP BY m.user_id
) per_user
GROUP BY mask`

// SegmentOverlap compares the current members of every pair of the given
// segments (2 to MaxSegments, distinct): one Overlap per pair, in the order
// of the list (the first with each later one, then the second, ...).
func (s *Service) SegmentOverlap(ctx context.Context, segmentIDs []int) ([]Overlap, error) {
	segments, err := s.segmentList(ctx, "segmentIds", segmentIDs, 2)
	if err != nil {
		return nil, err
	}
	masks := map[uint64]int{}
	err = s.read(ctx, func(snap *snapshot) error {
		rows, err := snap.tx.QueryContext(ctx, overlapSQL, snap.projectID, pq.Array(ids(segments)))
		if err != nil {
			return fmt.Errorf("segment overlap: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				mask  int64
				users int
			)
			if err := rows.Scan(&mask, &users); err != nil {
				return fmt.Errorf("segment overlap: %w", err)
			}
			masks[uint64(mask)] = users
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return overlaps(segments, masks), nil
}

// overlaps sums the users of each mask into segment sizes and pair
// intersections.
func overlaps(segments []*ent.Segment, masks map[uint64]int) []Overlap {
	sizes := make([]int, len(segments))
	both := make([][]int, len(segments))
	for i := range both {
		both[i] = make([]int, len(segments))
	}
	for mask, users := range masks {
		for i := range segments {
			if mask&(1<<i) == 0 {
				continue
			}
			sizes[i] += users
			for j := i + 1; j < len(segments); j++ {
				if mask&(1<<j) != 0 {
					both[i][j] += users
				}
			}
		}
	}
	var out []Overlap
	for i := range segments {
		for j := i + 1; j < len(segments); j++ {
			out = append(out, Overlap{
				A: segments[i], B: segments[j], Intersection: both[i][j],
				Jaccard: share(both[i][j], sizes[i]+sizes[j]-both[i][j]),
			})
		}
	}
	return out
}
