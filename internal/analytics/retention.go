package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// RetentionCohort is the users first seen in one bucket (users.first_seen_at,
// project time zone) and how many of them were active in each bucket since.
type RetentionCohort struct {
	Start, End time.Time
	Users      int
	// Periods are the cohort's own bucket (period 0) and each later one
	// that has begun by the query's last day, in order.
	Periods []RetentionPeriod
}

// RetentionPeriod is one bucket of a cohort's life.
type RetentionPeriod struct {
	// Period is how many buckets after the cohort's this one is.
	Period int
	Start  time.Time
	// ActiveUsers is how many of the cohort were active (see Engagement)
	// in the bucket; Share is that over the cohort's users (0 for an empty
	// cohort).
	ActiveUsers int
	Share       float64
}

// retentionSQL numbers the cohorts by width_bucket over their starts $4
// (1 for the oldest). For each user first seen between $2 and $3
// (instants), it folds the buckets they were active in from $5 to $6 into
// masks (item i is cohort bucket i, see masks.go), and counts users per
// cohort and combination of masks. $7 is the time zone.
func retentionSQL(masks int) string {
	aggregates, _ := maskColumns(masks, "width_bucket(d.day, $4::date[]) - 1")
	keys := outerMasks("a", masks)
	return `
SELECT c.number, ` + keys + `, count(*)::int
FROM (
	SELECT u.id, width_bucket((u.first_seen_at AT TIME ZONE $7)::date, $4::date[]) AS number
	FROM users u
	WHERE u.project_id = $1 AND u.first_seen_at >= $2 AND u.first_seen_at < $3
	  AND ` + inSegment("u.id", "$8") + `
) c
LEFT JOIN (
	SELECT d.user_id, ` + aggregates + `
	FROM user_daily_activities d
	WHERE d.project_id = $1 AND d.day BETWEEN $5::date AND $6::date AND d.events > 0
	GROUP BY d.user_id
) a ON a.user_id = c.id
GROUP BY c.number, ` + keys
}

// Retention follows periods+1 cohorts of interval: the bucket holding to
// (default today) and the periods buckets before it. The oldest cohort is
// followed for periods later buckets, each younger one for one fewer (the
// classic triangle); the last bucket ends on to. With segmentID, only the
// segment's current members count.
func (s *Service) Retention(ctx context.Context, interval Interval, periods int, to *time.Time, segmentID *int) ([]RetentionCohort, error) {
	if err := interval.check("cohortInterval"); err != nil {
		return nil, err
	}
	if periods < 1 || periods > MaxRetentionPeriods {
		return nil, invalid.Field("periods", "must be between 1 and %d, got %d", MaxRetentionPeriods, periods)
	}
	if err := s.segment(ctx, "segmentId", segmentID); err != nil {
		return nil, err
	}
	var cohorts []RetentionCohort
	err := s.read(ctx, func(snap *snapshot) error {
		last := s.today(snap)
		if to != nil {
			last = civil(*to)
		}
		first := interval.start(last)
		for range periods {
			first = interval.prev(first)
		}
		buckets, err := interval.buckets(first, last)
		if err != nil {
			return err
		}
		cohorts = newCohorts(buckets)
		numbered := starts(buckets)
		rows, err := snap.tx.QueryContext(ctx, retentionSQL(maskCount(len(numbered))), snap.projectID,
			snap.midnight(first), snap.midnight(last.AddDate(0, 0, 1)), pq.Array(numbered),
			numbered[0], date(last), snap.timezone, segmentID)
		if err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		defer rows.Close()
		return fillCohorts(rows, cohorts)
	})
	if err != nil {
		return nil, err
	}
	return cohorts, nil
}

// newCohorts lays out the empty triangle, a cohort per bucket: cohort i
// has periods 0 to len(buckets)-1-i.
func newCohorts(buckets []bucket) []RetentionCohort {
	cohorts := make([]RetentionCohort, len(buckets))
	for i, b := range buckets {
		c := RetentionCohort{Start: b.start, End: b.end, Periods: make([]RetentionPeriod, len(buckets)-i)}
		for k := range c.Periods {
			c.Periods[k] = RetentionPeriod{Period: k, Start: buckets[i+k].start}
		}
		cohorts[i] = c
	}
	return cohorts
}

// fillCohorts reads retentionSQL's counts into the triangle and computes
// the shares.
func fillCohorts(rows *sql.Rows, cohorts []RetentionCohort) error {
	active := make(bitset, maskCount(len(cohorts)))
	var number, users int
	dest := append([]any{&number}, active.dest()...)
	dest = append(dest, &users)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		c := number - 1
		if c < 0 || c >= len(cohorts) {
			return fmt.Errorf("retention: cohort %d is not one of the range", number)
		}
		cohorts[c].Users += users
		active.each(func(b int) {
			// Activity dated before the first-seen day (possible only
			// in hand-made data) belongs to no period.
			if b >= c {
				cohorts[c].Periods[b-c].ActiveUsers += users
			}
		})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	for i := range cohorts {
		for k := range cohorts[i].Periods {
			p := &cohorts[i].Periods[k]
			p.Share = share(p.ActiveUsers, cohorts[i].Users)
		}
	}
	return nil
}
