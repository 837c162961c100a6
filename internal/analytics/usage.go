package analytics

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// FeatureUsage compares what a segment's members do with what every user
// does, event name by event name, over a range of days.
type FeatureUsage struct {
	// SegmentUsers is the current members with at least one event in the
	// range; AllUsers is every user with at least one.
	SegmentUsers, AllUsers int
	Events                 []FeatureUse
}

// FeatureUse is one event name of a FeatureUsage.
type FeatureUse struct {
	Name string
	// SegmentUsers is the members who sent the event at least once;
	// SegmentShare is that over FeatureUsage.SegmentUsers.
	SegmentUsers int
	SegmentShare float64
	// AllUsers and AllShare are the same over every user.
	AllUsers int
	AllShare float64
	// Lift is SegmentShare over AllShare: above 1 the segment uses the
	// feature more than users at large. Nil when no member was active.
	Lift *float64
}

// eventNamesSQL lists the project's event names with one probe of the
// (project_id, name, timestamp) index per name (a skip scan), in order.
const eventNamesSQL = `
WITH RECURSIVE names AS (
	(SELECT e.name FROM events e WHERE e.project_id = $1 ORDER BY e.name LIMIT 1)
	UNION ALL
	SELECT (SELECT e.name FROM events e WHERE e.project_id = $1 AND e.name > n.name ORDER BY e.name LIMIT 1)
	FROM names n WHERE n.name IS NOT NULL
)
SELECT name FROM names WHERE name IS NOT NULL`

// featureMasksSQL is the one analytic statement that reads raw events, since
// no rollup keeps event names. It scans the events of $3 to $4 once, as the
// segment rules do, folds the names each user sent (item i is name i of
// $2, see masks.go) into masks, and counts the users, and the members of
// segment $5 among them, per combination of masks.
func featureMasksSQL(masks int) string {
	aggregates, keys := maskColumns(masks, "array_position($2::text[], e.name::text) - 1")
	return `
SELECT ` + keys + `, count(*)::int, count(s.user_id)::int
FROM (
	SELECT e.user_id, ` + aggregates + `
	FROM events e
	WHERE e.project_id = $1 AND e.timestamp >= $3 AND e.timestamp < $4
	GROUP BY e.user_id
) per_user
LEFT JOIN segment_members s ON s.segment_id = $5 AND s.user_id = per_user.user_id
GROUP BY ` + keys
}

// FeatureUsage ranks the event names of the days from to to (project time
// zone) by how many of the segment's current members sent them (then by
// all users, then by name) and keeps the first limit (1 to MaxRows).
func (s *Service) FeatureUsage(ctx context.Context, segmentID int, from, to time.Time, limit int) (*FeatureUsage, error) {
	from, to, err := civilRange(from, to)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxRows {
		return nil, invalid.Field("limit", "must be between 1 and %d, got %d", MaxRows, limit)
	}
	if err := s.segment(ctx, "segmentId", &segmentID); err != nil {
		return nil, err
	}
	out := &FeatureUsage{Events: []FeatureUse{}}
	err = s.read(ctx, func(snap *snapshot) error {
		names, err := eventNames(ctx, snap)
		if err != nil || len(names) == 0 {
			return err
		}
		uses := make([]FeatureUse, len(names))
		for i, name := range names {
			uses[i].Name = name
		}
		start, end := snap.span(from, to)
		if err := sumMasks(ctx, snap, out, uses, segmentID, start, end); err != nil {
			return err
		}
		for _, u := range uses {
			if u.AllUsers > 0 {
				out.Events = append(out.Events, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rank(out, limit)
	return out, nil
}

// eventNames lists the project's event names.
func eventNames(ctx context.Context, snap *snapshot) ([]string, error) {
	rows, err := snap.tx.QueryContext(ctx, eventNamesSQL, snap.projectID)
	if err != nil {
		return nil, fmt.Errorf("event names: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("event names: %w", err)
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// sumMasks runs featureMasksSQL and adds each mask combination's users and
// members to the names it has, and to out's totals.
func sumMasks(ctx context.Context, snap *snapshot, out *FeatureUsage, uses []FeatureUse, segmentID int, start, end time.Time) error {
	masks := maskCount(len(uses))
	rows, err := snap.tx.QueryContext(ctx, featureMasksSQL(masks), snap.projectID, pq.Array(useNames(uses)), start, end, segmentID)
	if err != nil {
		return fmt.Errorf("feature usage: %w", err)
	}
	defer rows.Close()
	sent := make(bitset, masks)
	var users, members int
	dest := append(sent.dest(), &users, &members)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("feature usage: %w", err)
		}
		out.AllUsers += users
		out.SegmentUsers += members
		sent.each(func(i int) {
			uses[i].AllUsers += users
			uses[i].SegmentUsers += members
		})
	}
	return rows.Err()
}

// useNames are the names of uses, in order.
func useNames(uses []FeatureUse) []string {
	out := make([]string, len(uses))
	for i, u := range uses {
		out[i] = u.Name
	}
	return out
}

// rank computes the shares and lifts, sorts and cuts the events.
func rank(u *FeatureUsage, limit int) {
	for i := range u.Events {
		e := &u.Events[i]
		e.SegmentShare = share(e.SegmentUsers, u.SegmentUsers)
		e.AllShare = share(e.AllUsers, u.AllUsers)
		if u.SegmentUsers > 0 {
			lift := e.SegmentShare / e.AllShare
			e.Lift = &lift
		}
	}
	sort.Slice(u.Events, func(i, j int) bool {
		a, b := u.Events[i], u.Events[j]
		if a.SegmentUsers != b.SegmentUsers {
			return a.SegmentUsers > b.SegmentUsers
		}
		if a.AllUsers != b.AllUsers {
			return a.AllUsers > b.AllUsers
		}
		return a.Name < b.Name
	})
	if len(u.Events) > limit {
		u.Events = u.Events[:limit]
	}
}
