package analytics_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/analytics"
)

// engagementData is four users around March 2026, with MAU windows reaching
// back into February:
//
//	u1: Jan 31, Mar 4      (Jan 31 is in the MAU up to Mar 1 only)
//	u2: Feb 1              (in the MAU up to Mar 2)
//	u3: Mar 2, Mar 3, Mar 8
//	u4: Mar 5, Mar 9, and a row with no events on Mar 6 (not activity)
//
// and a user of another project active on Mar 2 to 8.
type engagementData struct {
	*bundle
	u3, u4 int
}

func engagementSetup(t *testing.T) engagementData {
	b := setup(t, "UTC")
	u1 := b.user(t, "u1", at(t, "2026-01-31T10:00:00Z"))
	b.active(t, u1, "2026-01-31", "2026-03-04")
	u2 := b.user(t, "u2", at(t, "2026-02-01T10:00:00Z"))
	b.active(t, u2, "2026-02-01")
	u3 := b.user(t, "u3", at(t, "2026-03-02T10:00:00Z"))
	b.active(t, u3, "2026-03-02", "2026-03-03", "2026-03-08")
	u4 := b.user(t, "u4", at(t, "2026-03-05T10:00:00Z"))
	b.active(t, u4, "2026-03-05", "2026-03-09")
	_, err := b.db.Exec(`INSERT INTO user_daily_activities (project_id, user_id, day, events, mobile_events, tablet_events, desktop_events)
		VALUES ($1, $2, '2026-03-06', 0, 0, 0, 0)`, b.projectID, u4)
	require.NoError(t, err)
	o := b.other(t)
	stranger := o.user(t, "stranger", at(t, "2026-03-02T10:00:00Z"))
	o.active(t, stranger, "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08")
	return engagementData{bundle: b, u3: u3, u4: u4}
}

// bucketNumbers is an EngagementBucket without its floats' noise.
type bucketNumbers struct {
	start, end       string
	active           int
	dau, mau, sticky float64
}

func numbers(buckets []analytics.EngagementBucket) []bucketNumbers {
	out := make([]bucketNumbers, len(buckets))
	for i, b := range buckets {
		out[i] = bucketNumbers{b.Start.Format(time.DateOnly), b.End.Format(time.DateOnly), b.ActiveUsers,
			b.AverageDailyActiveUsers, b.AverageMonthlyActiveUsers, b.Stickiness}
	}
	return out
}

func requireBuckets(t *testing.T, want []bucketNumbers, got []analytics.EngagementBucket) {
	t.Helper()
	have := numbers(got)
	require.Len(t, have, len(want))
	for i := range want {
		require.Equal(t, want[i].start, have[i].start, "bucket %d", i)
		require.Equal(t, want[i].end, have[i].end, "bucket %d", i)
		require.Equal(t, want[i].active, have[i].active, "bucket %d active", i)
		require.InDelta(t, want[i].dau, have[i].dau, 1e-9, "bucket %d DAU", i)
		require.InDelta(t, want[i].mau, have[i].mau, 1e-9, "bucket %d MAU", i)
		require.InDelta(t, want[i].sticky, have[i].sticky, 1e-9, "bucket %d stickiness", i)
	}
}

func TestEngagementByDay(t *testing.T) {
	t.Parallel()
	d := engagementSetup(t)
	got, err := d.service.Engagement(d.ctx, day(t, "2026-03-02"), day(t, "2026-03-08"), analytics.Day, nil)
	require.NoError(t, err)
	// MAU: Mar 2 counts u2 (Feb 1 is 29 days before) and u3, not u1 (Jan 31).
	requireBuckets(t, []bucketNumbers{
		{"2026-03-02", "2026-03-02", 1, 1, 2, 0.5},
		{"2026-03-03", "2026-03-03", 1, 1, 1, 1},
		{"2026-03-04", "2026-03-04", 1, 1, 2, 0.5},
		{"2026-03-05", "2026-03-05", 1, 1, 3, 1.0 / 3},
		{"2026-03-06", "2026-03-06", 0, 0, 3, 0},
		{"2026-03-07", "2026-03-07", 0, 0, 3, 0},
		{"2026-03-08", "2026-03-08", 1, 1, 3, 1.0 / 3},
	}, got.Buckets)
	require.InDelta(t, 5.0/7, got.AverageDailyActiveUsers, 1e-9)
	require.InDelta(t, 17.0/7, got.AverageMonthlyActiveUsers, 1e-9)
	require.InDelta(t, 5.0/17, got.Stickiness, 1e-9)
}

func TestEngagementByWeekStartsOnMonday(t *testing.T) {
	t.Parallel()
	d := engagementSetup(t)
	// From a Wednesday to a Tuesday: the first week is whole, the last
	// ends on to.
	got, err := d.service.Engagement(d.ctx, day(t, "2026-03-04"), day(t, "2026-03-10"), analytics.Week, nil)
	require.NoError(t, err)
	requireBuckets(t, []bucketNumbers{
		{"2026-03-02", "2026-03-08", 3, 5.0 / 7, 17.0 / 7, 5.0 / 17},
		{"2026-03-09", "2026-03-10", 1, 0.5, 3, 1.0 / 6},
	}, got.Buckets)
	require.InDelta(t, 6.0/23, got.Stickiness, 1e-9)
}

func TestEngagementByMonth(t *testing.T) {
	t.Parallel()
	d := engagementSetup(t)
	got, err := d.service.Engagement(d.ctx, day(t, "2026-02-15"), day(t, "2026-03-10"), analytics.Month, nil)
	require.NoError(t, err)
	// February: only u2 active (Feb 1); u1 (Jan 31) and u2 are in every
	// day's MAU. March 1-10: MAU 2,2,1,2,3,3,3,3,3,3.
	requireBuckets(t, []bucketNumbers{
		{"2026-02-01", "2026-02-28", 1, 1.0 / 28, 2, 1.0 / 56},
		{"2026-03-01", "2026-03-10", 3, 0.6, 2.5, 6.0 / 25},
	}, got.Buckets)
	require.InDelta(t, 7.0/38, got.AverageDailyActiveUsers, 1e-9)
	require.InDelta(t, 7.0/81, got.Stickiness, 1e-9)
}

func TestEngagementOfSegment(t *testing.T) {
	t.Parallel()
	d := engagementSetup(t)
	seg := d.segment(t, "u3 and u4", d.u3, d.u4)
	got, err := d.service.Engagement(d.ctx, day(t, "2026-03-02"), day(t, "2026-03-08"), analytics.Week, &seg)
	require.NoError(t, err)
	// DAU 1,1,0,1,0,0,1; MAU 1,1,1,2,2,2,2.
	requireBuckets(t, []bucketNumbers{{"2026-03-02", "2026-03-08", 2, 4.0 / 7, 11.0 / 7, 4.0 / 11}}, got.Buckets)
}

func TestEngagementEmptyBuckets(t *testing.T) {
	t.Parallel()
	d := engagementSetup(t)
	got, err := d.service.Engagement(d.ctx, day(t, "2025-06-01"), day(t, "2025-07-31"), analytics.Month, nil)
	require.NoError(t, err)
	requireBuckets(t, []bucketNumbers{
		{"2025-06-01", "2025-06-30", 0, 0, 0, 0},
		{"2025-07-01", "2025-07-31", 0, 0, 0, 0},
	}, got.Buckets)
	require.Zero(t, got.Stickiness)
}

func TestEngagementIsolatesProjects(t *testing.T) {
	t.Parallel()
	d := engagementSetup(t)
	// The other project's key sees none of this project's activity.
	o := d.other(t)
	got, err := o.service.Engagement(o.ctx, day(t, "2026-03-02"), day(t, "2026-03-08"), analytics.Week, nil)
	require.NoError(t, err)
	require.Zero(t, got.Buckets[0].ActiveUsers)
	require.Zero(t, got.AverageMonthlyActiveUsers)
}

func TestPowerUserCurve(t *testing.T) {
	t.Parallel()
	d := engagementSetup(t)
	bars := func(days int, to string, segmentID *int) []int {
		got, err := d.service.PowerUserCurve(d.ctx, days, ptr(day(t, to)), segmentID)
		require.NoError(t, err)
		users := make([]int, len(got))
		for i, bar := range got {
			require.Equal(t, i+1, bar.ActiveDays)
			users[i] = bar.Users
		}
		return users
	}
	// Mar 2-8: u3 on 3 days, u1 and u4 on one (u4's empty row is no day).
	require.Equal(t, []int{2, 0, 1, 0, 0, 0, 0}, bars(7, "2026-03-08", nil))
	// Mar 3-9: u3 on 2 (Mar 3, 8), u4 on 2 (Mar 5, 9), u1 on 1.
	require.Equal(t, []int{1, 2, 0, 0, 0, 0, 0}, bars(7, "2026-03-09", nil))
	seg := d.segment(t, "u4", d.u4)
	require.Equal(t, []int{0, 1, 0, 0, 0, 0, 0}, bars(7, "2026-03-09", &seg))
	require.Len(t, bars(28, "2026-03-09", nil), 28)
}
