package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// LifecycleBucket splits a bucket's users by where they are in their life
// with the product. A user is active in a bucket when active on one of its
// days (see Engagement), and first seen on the day of users.first_seen_at
// (project time zone). The previous bucket of the first one is the whole
// calendar bucket before it.
//
//   - New: active in the bucket and first seen in it.
//   - Returning: active in the bucket and in the previous one.
//   - Resurrecting: active in the bucket, not in the previous one, and
//     first seen before the bucket (they came back).
//   - Dormant: active in the previous bucket and not in this one (they
//     left); a count of users, not negative.
//
// New, Returning and Resurrecting add up to the bucket's active users.
type LifecycleBucket struct {
	Start, End                            time.Time
	New, Returning, Resurrecting, Dormant int
}

// lifecycleSQL folds, for each user active from $2 (the start of the bucket
// before the first) to $4, the buckets they were active in into masks
// (item 1 is the bucket before the first, item 2 the first, ...: see
// masks.go; a day's bucket is width_bucket over the bucket starts $3), and
// counts users per combination of masks and bucket of their first-seen day
// (0 before the bucket before the first, NULL never seen). $5 is the time
// zone.
func lifecycleSQL(masks int) string {
	aggregates, keys := maskColumns(masks, "width_bucket(d.day, $3::date[]) - 1")
	return `
SELECT ` + keys + `, width_bucket((u.first_seen_at AT TIME ZONE $5)::date, $3::date[]), count(*)::int
FROM (
	SELECT d.user_id, ` + aggregates + `
	FROM user_daily_activities d
	WHERE d.project_id = $1 AND d.day BETWEEN $2::date AND $4::date AND d.events > 0
	  AND ` + inSegment("d.user_id", "$6") + `
	GROUP BY d.user_id
) per_user
LEFT JOIN users u ON u.id = per_user.user_id AND u.project_id = $1
GROUP BY ` + keys + `, ` + fmt.Sprint(masks+1)
}

// Lifecycle splits the active users of each bucket of interval, from the
// one holding from to to (the last bucket ends on to), into new, returning
// and resurrecting, and counts the dormant; optionally for the current
// members of a segment. Buckets with nobody are present, with zeros.
func (s *Service) Lifecycle(ctx context.Context, from, to time.Time, interval Interval, segmentID *int) ([]LifecycleBucket, error) {
	from, to = civil(from), civil(to)
	buckets, err := s.bucketsOf(ctx, from, to, interval, segmentID)
	if err != nil {
		return nil, err
	}
	out := make([]LifecycleBucket, len(buckets))
	for i, b := range buckets {
		out[i] = LifecycleBucket{Start: b.start, End: b.end}
	}
	// Items: 1 is the bucket before the first, 2 the first, ...
	numbered := append([]string{date(interval.prev(buckets[0].start))}, starts(buckets)...)
	masks := maskCount(len(numbered))
	err = s.read(ctx, func(snap *snapshot) error {
		rows, err := snap.tx.QueryContext(ctx, lifecycleSQL(masks), snap.projectID, numbered[0], pq.Array(numbered), date(to),
			snap.timezone, segmentID)
		if err != nil {
			return fmt.Errorf("lifecycle: %w", err)
		}
		defer rows.Close()
		active := make(bitset, masks)
		var (
			firstSeen sql.NullInt64
			users     int
		)
		dest := append(active.dest(), &firstSeen, &users)
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return fmt.Errorf("lifecycle: %w", err)
			}
			classify(out, active, firstSeen, users)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// classify adds users, active in the buckets set in active (0 the bucket
// before the first, 1 the first, ...) and first seen in bucket firstSeen
// (as numbered by width_bucket: 1 for the bucket before the first), to the
// lifecycle counts of out.
func classify(out []LifecycleBucket, active bitset, firstSeen sql.NullInt64, users int) {
	first := int(firstSeen.Int64) - 1 // as the items: 0 the bucket before the first
	active.each(func(i int) {
		if i >= 1 && i <= len(out) {
			b := &out[i-1]
			switch {
			case active.has(i - 1):
				b.Returning += users
			case !firstSeen.Valid || first >= i:
				b.New += users
			default:
				b.Resurrecting += users
			}
		}
		if i+1 <= len(out) && !active.has(i+1) {
			out[i].Dormant += users
		}
	})
}
