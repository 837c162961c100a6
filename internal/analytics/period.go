package analytics

import (
	"context"
	"time"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Interval is the size of a bucket: a calendar day, week or month of the
// project's time zone.
type Interval string

// The intervals.
const (
	Day   Interval = "DAY"
	Week  Interval = "WEEK"
	Month Interval = "MONTH"
)

// Limits of the analytics' inputs. They bound the work and the size of an
// answer; every one is documented in the GraphQL schema.
const (
	// MaxBuckets is the most buckets an engagement or lifecycle query
	// spans: a year of days, seven years of weeks or thirty of months.
	MaxBuckets = 366
	// MaxRetentionPeriods is the most later periods retention follows.
	MaxRetentionPeriods = 90
	// MaxPowerUserDays is the longest power-user window.
	MaxPowerUserDays = 90
	// MaxSegments is the most segments compared at once (overlap,
	// transitions, feedback by segment).
	MaxSegments = 20
	// MaxRows is the most events or tags a ranking returns.
	MaxRows = 100
)

// start is the first day of the bucket holding day; weeks start on Monday
// (ISO weeks).
func (i Interval) start(day time.Time) time.Time {
	switch i {
	case Week:
		return day.AddDate(0, 0, -(int(day.Weekday())+6)%7)
	case Month:
		return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return day
}

// next is the first day of the bucket after the one starting at start.
func (i Interval) next(start time.Time) time.Time {
	switch i {
	case Week:
		return start.AddDate(0, 0, 7)
	case Month:
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

// prev is the start of the bucket before the one starting on start.
func (i Interval) prev(start time.Time) time.Time { return i.start(start.AddDate(0, 0, -1)) }

// check validates i as the input field.
func (i Interval) check(field string) error {
	switch i {
	case Day, Week, Month:
		return nil
	}
	return invalid.Field(field, "unknown interval %q (want DAY, WEEK or MONTH)", i)
}

// bucket is one calendar bucket, both ends included; the last bucket of a
// range may end early, on the range's last day.
type bucket struct {
	start, end time.Time
}

// bucketsOf checks the interval and the optional segment of a bucketed
// analytic, as the API names them, and returns its buckets from the one
// holding from up to to.
func (s *Service) bucketsOf(ctx context.Context, from, to time.Time, interval Interval, segmentID *int) ([]bucket, error) {
	if err := interval.check("interval"); err != nil {
		return nil, err
	}
	buckets, err := interval.buckets(from, to)
	if err != nil {
		return nil, err
	}
	return buckets, s.segment(ctx, "segmentId", segmentID)
}

// buckets returns the whole buckets from the one holding from up to to,
// the last one ending on to. It refuses more than MaxBuckets, naming the
// field to.
func (i Interval) buckets(from, to time.Time) ([]bucket, error) {
	if err := checkDays(from, to); err != nil {
		return nil, err
	}
	var out []bucket
	for start := i.start(from); !start.After(to); start = i.next(start) {
		if len(out) == MaxBuckets {
			return nil, invalid.Field("to", "at most %d %s buckets: from %s to %s is more", MaxBuckets, i,
				from.Format(time.DateOnly), to.Format(time.DateOnly))
		}
		end := i.next(start).AddDate(0, 0, -1)
		if end.After(to) {
			end = to
		}
		out = append(out, bucket{start: start, end: end})
	}
	return out, nil
}

// civilRange is the calendar days of from and to (civil), refused when
// from is after to.
func civilRange(from, to time.Time) (time.Time, time.Time, error) {
	from, to = civil(from), civil(to)
	return from, to, checkDays(from, to)
}

// checkDays refuses a range whose from is after its to.
func checkDays(from, to time.Time) error {
	if from.After(to) {
		return invalid.Field("from", "from %s is after to %s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	return nil
}

// civil is the calendar day of t (in t's location) as midnight UTC, the
// form every day of this package takes.
func civil(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// date is a day as a bind parameter, cast with ::date in SQL: a string, so
// no time zone conversion can move it.
func date(day time.Time) string { return day.Format(time.DateOnly) }

// days is the number of calendar days from first to last, both included.
func days(first, last time.Time) int {
	return int(last.Sub(first).Hours()/24) + 1
}
