// Package retention deletes what a project keeps no longer: events, daily
// activity, feedback (with its history) and survey responses older than
// the project's retentionDays. A River job per project does it in small
// batches, each its own transaction, so it never holds many locks for
// long and a job killed half way has lost nothing: the next one starts
// over and finds less to do. It runs hourly for every project with a
// retention, and within a minute of a change of the retention (see
// Enqueuer).
//
// Segments are protected by validation, not here: a rule may not read
// further back than the retention (segment.CheckRetention), so what this
// package deletes never moves a member.
package retention

import (
	"time"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// MaxDays is the longest retention a project may have: a hundred years.
const MaxDays = 36500

// Cutoff is what a retention keeps at an instant.
type Cutoff struct {
	// Time: events, feedback and survey responses stamped before it are
	// expired.
	Time time.Time
	// FirstDay: the daily activity of days before it (YYYY-MM-DD, in the
	// project's time zone) is expired.
	FirstDay string
}

// CutoffAt is the cutoff of a retention of days at now, for a project in
// loc. It keeps today and the days-1 days before it, which an activity
// window of that many days counts (segment.FirstActiveDay), and at least
// the last days × 24 hours, which event, feedback and survey windows read.
// Events are kept from the start of that first day when it is earlier (a
// change of clocks in the window makes it so): explanations and the
// real-time sweep read the events of the days activity counts.
func CutoffAt(now time.Time, loc *time.Location, days int) Cutoff {
	cutoff := Cutoff{Time: now.Add(-time.Duration(days) * 24 * time.Hour), FirstDay: segment.FirstActiveDay(now, loc, days)}
	if start := segment.FirstActiveDayStart(now, loc, days); start.Before(cutoff.Time) {
		cutoff.Time = start
	}
	return cutoff
}
