package analytics_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/analytics"
)

// cohortRows shows RetentionCohorts as "start..end users: p0 p1 ..." with each
// period as active/share. Period k of a cohort must be the bucket of the
// cohort k places later.
func cohortRows(t *testing.T, cohorts []analytics.RetentionCohort) []string {
	t.Helper()
	out := make([]string, len(cohorts))
	for i, c := range cohorts {
		s := fmt.Sprintf("%s..%s %d:", c.Start.Format(time.DateOnly), c.End.Format(time.DateOnly), c.Users)
		for k, p := range c.Periods {
			require.Equal(t, k, p.Period)
			require.Equal(t, cohorts[i+k].Start, p.Start, "period %d of cohort %d", k, i)
			s += fmt.Sprintf(" %d/%.2f", p.ActiveUsers, p.Share)
		}
		out[i] = s
	}
	return out
}

// The project is in New York: q, first seen on Sunday Mar 8 at 22:00 there
// (Monday in UTC), is of the week of Mar 2; r, first seen on Sunday Mar 1
// at 23:30 there, is of no cohort of the range; v, first seen on Mar 25 at
// 23:00 there, is of the last (partial) week.
func retentionSetup(t *testing.T) (*bundle, map[string]int) {
	b := setup(t, "America/New_York")
	users := map[string]int{}
	for _, u := range []struct {
		name, firstSeen string
		active          []string
	}{
		{"p", "2026-03-02T15:00:00Z", []string{"2026-03-02", "2026-03-10", "2026-03-24"}},
		{"q", "2026-03-09T03:00:00Z", []string{"2026-03-08", "2026-03-16"}},
		{"r", "2026-03-02T04:30:00Z", []string{"2026-03-03"}},
		{"s", "2026-03-10T15:00:00Z", []string{"2026-03-10"}},
		{"t", "2026-03-17T15:00:00Z", []string{"2026-03-17", "2026-03-23"}},
		{"v", "2026-03-26T03:00:00Z", []string{"2026-03-25"}},
		{"w", "2026-03-26T05:00:00Z", []string{"2026-03-26"}},
		{"x", "2026-02-10T15:00:00Z", []string{"2026-02-10", "2026-03-05"}},
	} {
		users[u.name] = b.user(t, u.name, at(t, u.firstSeen))
		b.active(t, users[u.name], u.active...)
	}
	return b, users
}

func TestRetentionByWeekInProjectTimeZone(t *testing.T) {
	t.Parallel()
	b, users := retentionSetup(t)
	got, err := b.service.Retention(b.ctx, analytics.Week, 3, ptr(day(t, "2026-03-25")), nil)
	require.NoError(t, err)
	require.Equal(t, []string{
		"2026-03-02..2026-03-08 2: 2/1.00 1/0.50 1/0.50 1/0.50", // p, q
		"2026-03-09..2026-03-15 1: 1/1.00 0/0.00 0/0.00",        // s
		"2026-03-16..2026-03-22 1: 1/1.00 1/1.00",               // t
		"2026-03-23..2026-03-25 1: 1/1.00",                      // v
	}, cohortRows(t, got))

	seg := b.segment(t, "p and s", users["p"], users["s"])
	got, err = b.service.Retention(b.ctx, analytics.Week, 3, ptr(day(t, "2026-03-25")), &seg)
	require.NoError(t, err)
	require.Equal(t, []string{
		"2026-03-02..2026-03-08 1: 1/1.00 1/1.00 0/0.00 1/1.00",
		"2026-03-09..2026-03-15 1: 1/1.00 0/0.00 0/0.00",
		"2026-03-16..2026-03-22 0: 0/0.00 0/0.00",
		"2026-03-23..2026-03-25 0: 0/0.00",
	}, cohortRows(t, got))
}

func TestRetentionByMonthWithEmptyCohort(t *testing.T) {
	t.Parallel()
	b, _ := retentionSetup(t)
	got, err := b.service.Retention(b.ctx, analytics.Month, 2, ptr(day(t, "2026-03-25")), nil)
	require.NoError(t, err)
	// March: p, q, r, s, t, v (w is after to).
	require.Equal(t, []string{
		"2026-01-01..2026-01-31 0: 0/0.00 0/0.00 0/0.00",
		"2026-02-01..2026-02-28 1: 1/1.00 1/1.00",
		"2026-03-01..2026-03-25 6: 6/1.00",
	}, cohortRows(t, got))

	o := b.other(t)
	got, err = o.service.Retention(o.ctx, analytics.Month, 2, ptr(day(t, "2026-03-25")), nil)
	require.NoError(t, err)
	for _, c := range got {
		require.Zero(t, c.Users, "another project sees nothing")
	}
}

// 71 daily cohorts take two masks: the user first seen on the 64th cohort
// day and active on the 65th is counted across the masks' boundary.
func TestRetentionAcrossMasks(t *testing.T) {
	t.Parallel()
	b := setup(t, "UTC")
	// Cohorts from Jan 4 (Mar 15 - 70 days) to Mar 15: Mar 7 is item 63
	// (bit 62), Mar 8 item 64 (bit 63), Mar 9 item 65 (first of mask 2).
	u := b.user(t, "u", at(t, "2026-03-08T10:00:00Z"))
	b.active(t, u, "2026-03-08", "2026-03-09", "2026-03-15")
	got, err := b.service.Retention(b.ctx, analytics.Day, 70, ptr(day(t, "2026-03-15")), nil)
	require.NoError(t, err)
	require.Len(t, got, 71)
	require.Equal(t, day(t, "2026-01-04"), got[0].Start)
	c := got[63]
	require.Equal(t, day(t, "2026-03-08"), c.Start)
	require.Equal(t, 1, c.Users)
	active := []int{}
	for _, p := range c.Periods {
		if p.ActiveUsers > 0 {
			active = append(active, p.Period)
		}
	}
	require.Equal(t, []int{0, 1, 7}, active)
	require.Len(t, c.Periods, 8)
}
