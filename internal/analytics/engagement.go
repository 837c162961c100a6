package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Engagement is how many users were active, bucket by bucket, and how
// sticky the product is.
//
// A user is active on a day with at least one activity event (the project's
// active events, all usage events by default) that day. DAU is the users
// active on one day; MAU of a day is the users active in the 30 days ending
// on it. Stickiness is the average DAU over the average MAU of the same
// days, 0 when nobody was active.
type Engagement struct {
	Buckets []EngagementBucket
	// The same measures over every day from the first bucket's start to
	// the last bucket's end.
	AverageDailyActiveUsers   float64
	AverageMonthlyActiveUsers float64
	Stickiness                float64
}

// EngagementBucket is one day, week or month of an Engagement.
type EngagementBucket struct {
	Start, End time.Time
	// ActiveUsers is the distinct users active on at least one of the
	// bucket's days.
	ActiveUsers               int
	AverageDailyActiveUsers   float64
	AverageMonthlyActiveUsers float64
	Stickiness                float64
}

// mauDays is the length of the MAU window.
const mauDays = 30

// engagementSQL reads the active days of the scope's users from 29 days
// before the first bucket (the first day's MAU window) to the last day and
// pairs each with the user's next active day. It counts those rows by day,
// by whether the row is the user's last in its bucket (so distinct users
// per bucket add up without a distinct count) and by the day the user
// leaves the MAU: a user active on day a is in the MAU from a until a+30 or
// their next active day, whichever comes first, when that day takes over.
// One sort by (user, day) serves all three; the days are read into a CTE
// first so that they come in one sequential pass, not in user order through
// the (user_id, day) index, which visits the table at random. Buckets are
// numbered by width_bucket over their starts, $4.
var engagementSQL = `
WITH days AS MATERIALIZED (
	SELECT d.user_id, d.day, width_bucket(d.day, $4::date[]) AS bucket
	FROM user_daily_activities d
	WHERE d.project_id = $1 AND d.day BETWEEN $2::date AND $3::date AND d.events > 0
	  AND ` + inSegment("d.user_id", "$5") + `
)
SELECT day, least(day + ` + fmt.Sprint(mauDays) + `, next_day), next_bucket IS DISTINCT FROM bucket, count(*)::int
FROM (
	SELECT d.day, d.bucket, lead(d.day) OVER w AS next_day, lead(d.bucket) OVER w AS next_bucket
	FROM days d
	WINDOW w AS (PARTITION BY d.user_id ORDER BY d.day)
) active
GROUP BY 1, 2, 3`

// dayCounts are the numbers of one day: its DAU, the users whose last
// active day in their bucket it is, and the users leaving the MAU.
type dayCounts struct {
	dau, lastOfBucket, leaving int
}

// Engagement measures the buckets of interval from the one holding from to
// to (the last bucket ends on to), optionally for the current members of a
// segment.
func (s *Service) Engagement(ctx context.Context, from, to time.Time, interval Interval, segmentID *int) (*Engagement, error) {
	from, to = civil(from), civil(to)
	buckets, err := s.bucketsOf(ctx, from, to, interval, segmentID)
	if err != nil {
		return nil, err
	}
	first := buckets[0].start
	lookback := first.AddDate(0, 0, -(mauDays - 1))
	counts := dailyCounts{}
	err = s.read(ctx, func(snap *snapshot) error {
		rows, err := snap.tx.QueryContext(ctx, engagementSQL, snap.projectID, date(lookback), date(to), pq.Array(starts(buckets)), segmentID)
		if err != nil {
			return fmt.Errorf("engagement: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				day, leaving time.Time
				last         bool
				users        int
			)
			if err := rows.Scan(&day, &leaving, &last, &users); err != nil {
				return fmt.Errorf("engagement: %w", err)
			}
			counts.at(day).dau += users
			if last {
				counts.at(day).lastOfBucket += users
			}
			counts.at(leaving).leaving += users
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return engagement(buckets, lookback, counts), nil
}

// starts are the first days of buckets, for a date[] bind parameter.
func starts(buckets []bucket) []string {
	out := make([]string, len(buckets))
	for i, b := range buckets {
		out[i] = date(b.start)
	}
	return out
}

// dailyCounts are the dayCounts of the days that have any.
type dailyCounts map[time.Time]*dayCounts

// at returns the counts of day, created empty on first use.
func (d dailyCounts) at(day time.Time) *dayCounts {
	day = civil(day)
	if d[day] == nil {
		d[day] = &dayCounts{}
	}
	return d[day]
}

// of returns the counts of day, zero when it has none, without adding it.
func (d dailyCounts) of(day time.Time) dayCounts {
	if c := d[civil(day)]; c != nil {
		return *c
	}
	return dayCounts{}
}

// engagement walks the days in order, keeping the MAU as a running sum
// (users join it on an active day and leave it on their leaving day), and
// sums each bucket's days.
func engagement(buckets []bucket, lookback time.Time, counts dailyCounts) *Engagement {
	out := &Engagement{Buckets: make([]EngagementBucket, 0, len(buckets))}
	mau := 0
	day := lookback
	var totalDAU, totalMAU, totalDays int
	for _, b := range buckets {
		var dau, monthly, active int
		for ; !day.After(b.end); day = day.AddDate(0, 0, 1) {
			c := counts.of(day)
			mau += c.dau - c.leaving
			if day.Before(b.start) {
				continue
			}
			dau += c.dau
			monthly += mau
			active += c.lastOfBucket
		}
		n := days(b.start, b.end)
		out.Buckets = append(out.Buckets, EngagementBucket{
			Start: b.start, End: b.end, ActiveUsers: active,
			AverageDailyActiveUsers:   float64(dau) / float64(n),
			AverageMonthlyActiveUsers: float64(monthly) / float64(n),
			Stickiness:                share(dau, monthly),
		})
		totalDAU, totalMAU, totalDays = totalDAU+dau, totalMAU+monthly, totalDays+n
	}
	out.AverageDailyActiveUsers = float64(totalDAU) / float64(totalDays)
	out.AverageMonthlyActiveUsers = float64(totalMAU) / float64(totalDays)
	out.Stickiness = share(totalDAU, totalMAU)
	return out
}
