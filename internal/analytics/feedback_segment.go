package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/feedback"
)

// FeedbackBySegment puts what several segments said side by side, with the
// same measures for all users as the baseline, so that a segment with an
// unusual rate of, say, bug reports stands out.
type FeedbackBySegment struct {
	Segments []SegmentFeedback
	AllUsers SegmentFeedback
}

// SegmentFeedback is the feedback of one segment's current members (or of
// all users) over a range of days.
type SegmentFeedback struct {
	// Segment is nil for all users.
	Segment *ent.Segment
	// ActiveUsers is the users active (see Engagement) on at least one of
	// the days.
	ActiveUsers int
	// Responses is the feedback given in the range, ByKind the same by
	// kind, every kind listed.
	Responses int
	ByKind    []KindCount
	// BugReportsPer100ActiveUsers is the BUG feedback per 100 active users,
	// nil when nobody was active. Feedback is not activity: a user may
	// report a bug without being active in the range.
	BugReportsPer100ActiveUsers *float64
	NPSScore
}

// The statements of FeedbackBySegment join their rows to the current
// members of the segments in $4 and group by segment and, with GROUPING 1,
// over all users; a row of the first set with a NULL segment is the users
// in none of them.
var (
	segmentActiveSQL = `
SELECT GROUPING(m.segment_id), m.segment_id, count(DISTINCT a.user_id)::int
FROM (
	SELECT DISTINCT d.user_id FROM user_daily_activities d
	WHERE d.project_id = $1 AND d.day BETWEEN $2::date AND $3::date AND d.events > 0
) a
LEFT JOIN segment_members m ON m.user_id = a.user_id AND m.segment_id = ANY($4::bigint[])
GROUP BY GROUPING SETS ((m.segment_id), ())`

	segmentKindsSQL = `
SELECT GROUPING(m.segment_id), m.segment_id, f.kind, count(DISTINCT f.id)::int
FROM feedbacks f
LEFT JOIN segment_members m ON m.user_id = f.user_id AND m.segment_id = ANY($4::bigint[])
WHERE f.project_id = $1 AND f.timestamp >= $2 AND f.timestamp < $3
GROUP BY GROUPING SETS ((m.segment_id, f.kind), (f.kind))`

	segmentNPSSQL = `
SELECT GROUPING(m.segment_id), m.segment_id, ` + npsCategories("count(DISTINCT l.user_id)") + `
FROM (` + latestNPS("true") + `) l
LEFT JOIN segment_members m ON m.user_id = l.user_id AND m.segment_id = ANY($4::bigint[])
GROUP BY GROUPING SETS ((m.segment_id), ())`
)

// segmentTally gathers one group's numbers before they become a
// SegmentFeedback.
type segmentTally struct {
	active                          int
	kinds                           map[string]int
	promoters, passives, detractors int
}

// FeedbackBySegment measures the feedback of each of the given segments (1
// to MaxSegments, distinct) and of all users on the days from to to
// (project time zone).
func (s *Service) FeedbackBySegment(ctx context.Context, segmentIDs []int, from, to time.Time) (*FeedbackBySegment, error) {
	from, to, err := civilRange(from, to)
	if err != nil {
		return nil, err
	}
	segments, err := s.segmentList(ctx, "segmentIds", segmentIDs, 1)
	if err != nil {
		return nil, err
	}
	// Tallies by segment id; 0, never an id, is all users.
	tallies := map[int64]*segmentTally{0: {kinds: map[string]int{}}}
	for _, seg := range segments {
		tallies[int64(seg.ID)] = &segmentTally{kinds: map[string]int{}}
	}
	err = s.read(ctx, func(snap *snapshot) error {
		list := pq.Array(ids(segments))
		start, end := snap.span(from, to)
		var active, n, promoters, passives, detractors int
		var kind string
		if err := tally(ctx, snap, tallies, "active users by segment", segmentActiveSQL, []any{date(from), date(to), list},
			[]any{&active}, func(t *segmentTally) { t.active = active }); err != nil {
			return err
		}
		if err := tally(ctx, snap, tallies, "feedback by segment", segmentKindsSQL, []any{start, end, list},
			[]any{&kind, &n}, func(t *segmentTally) { t.kinds[kind] = n }); err != nil {
			return err
		}
		return tally(ctx, snap, tallies, "NPS by segment", segmentNPSSQL, []any{start, end, list},
			[]any{&promoters, &passives, &detractors}, func(t *segmentTally) {
				t.promoters, t.passives, t.detractors = promoters, passives, detractors
			})
	})
	if err != nil {
		return nil, err
	}
	out := &FeedbackBySegment{AllUsers: tallies[0].feedback(nil)}
	for _, seg := range segments {
		out.Segments = append(out.Segments, tallies[int64(seg.ID)].feedback(seg))
	}
	return out, nil
}

// group is the tally of a row of the statements: all users when grouped
// over all (GROUPING 1), else the segment's; nil for the users in none of
// the segments.
func group(tallies map[int64]*segmentTally, overAll int, segmentID sql.NullInt64) *segmentTally {
	if overAll == 1 {
		return tallies[0]
	}
	if !segmentID.Valid {
		return nil
	}
	return tallies[segmentID.Int64]
}

// tally runs query, whose rows are a group (GROUPING of the segment id,
// the segment id) and then the values scanned into values, and calls apply
// with each group's tally while the row's values are in place.
func tally(ctx context.Context, snap *snapshot, tallies map[int64]*segmentTally, what, query string, args []any,
	values []any, apply func(*segmentTally)) error {
	rows, err := snap.tx.QueryContext(ctx, query, append([]any{snap.projectID}, args...)...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var (
		overAll   int
		segmentID sql.NullInt64
	)
	dest := append([]any{&overAll, &segmentID}, values...)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if t := group(tallies, overAll, segmentID); t != nil {
			apply(t)
		}
	}
	return rows.Err()
}

// feedback turns a tally into the SegmentFeedback of seg (nil: all users).
func (t *segmentTally) feedback(seg *ent.Segment) SegmentFeedback {
	out := SegmentFeedback{Segment: seg, ActiveUsers: t.active, ByKind: byKind(t.kinds),
		NPSScore: npsScore(t.promoters, t.passives, t.detractors)}
	for _, n := range t.kinds {
		out.Responses += n
	}
	if t.active > 0 {
		rate := 100 * float64(t.kinds[string(feedback.KindBUG)]) / float64(t.active)
		out.BugReportsPer100ActiveUsers = &rate
	}
	return out
}
