package analytics_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/analytics"
)

// lifecycleRow is a LifecycleBucket in a comparable form.
type lifecycleRow struct {
	Start, End                            string
	New, Returning, Resurrecting, Dormant int
}

func lifecycleRows(buckets []analytics.LifecycleBucket) []lifecycleRow {
	out := make([]lifecycleRow, len(buckets))
	for i, b := range buckets {
		out[i] = lifecycleRow{b.Start.Format(time.DateOnly), b.End.Format(time.DateOnly), b.New, b.Returning, b.Resurrecting, b.Dormant}
	}
	return out
}

// The project is in New York (UTC-5 in early March): first-seen instants
// near midnight fall on another calendar day there than in UTC. The weeks
// are W0 Feb 23-Mar 1, W1 Mar 2-8, W2 Mar 9-15, W3 Mar 16-22 and W4 Mar
// 23-25 (to is a Wednesday).
func TestLifecycleByWeekInProjectTimeZone(t *testing.T) {
	t.Parallel()
	b := setup(t, "America/New_York")
	// a: W0, W1, then back in W4.
	a := b.user(t, "a", at(t, "2026-02-25T15:00:00Z"))
	b.active(t, a, "2026-02-25", "2026-03-03", "2026-03-24")
	// b: first seen Sunday Mar 8 at 22:00 in New York (Mar 9 in UTC).
	bb := b.user(t, "b", at(t, "2026-03-09T03:00:00Z"))
	b.active(t, bb, "2026-03-08")
	// c: first seen Sunday Mar 1 at 23:30 in New York (Mar 2 in UTC), first
	// active in W1: it came back, it is not new.
	c := b.user(t, "c", at(t, "2026-03-02T04:30:00Z"))
	b.active(t, c, "2026-03-04")
	// d: new in W2, returning in W3, active again after to.
	d := b.user(t, "d", at(t, "2026-03-10T15:00:00Z"))
	b.active(t, d, "2026-03-10", "2026-03-17", "2026-03-26")
	// e: seen in January, back in W2.
	e := b.user(t, "e", at(t, "2026-01-05T15:00:00Z"))
	b.active(t, e, "2026-01-05", "2026-03-12")
	// f: active in W-1 only: before anything the range looks at.
	f := b.user(t, "f", at(t, "2026-02-20T15:00:00Z"))
	b.active(t, f, "2026-02-20")
	// h: active in W0 only: dormant in W1.
	h := b.user(t, "h", at(t, "2026-02-27T15:00:00Z"))
	b.active(t, h, "2026-02-27")

	got, err := b.service.Lifecycle(b.ctx, day(t, "2026-03-04"), day(t, "2026-03-25"), analytics.Week, nil)
	require.NoError(t, err)
	require.Equal(t, []lifecycleRow{
		{"2026-03-02", "2026-03-08", 1, 1, 1, 1}, // new b, returning a, resurrecting c, dormant h
		{"2026-03-09", "2026-03-15", 1, 0, 1, 3}, // new d, resurrecting e, dormant a, b, c
		{"2026-03-16", "2026-03-22", 0, 1, 0, 1}, // returning d, dormant e
		{"2026-03-23", "2026-03-25", 0, 0, 1, 1}, // resurrecting a, dormant d
	}, lifecycleRows(got))

	seg := b.segment(t, "a and d", a, d)
	got, err = b.service.Lifecycle(b.ctx, day(t, "2026-03-02"), day(t, "2026-03-25"), analytics.Week, &seg)
	require.NoError(t, err)
	require.Equal(t, []lifecycleRow{
		{"2026-03-02", "2026-03-08", 0, 1, 0, 0},
		{"2026-03-09", "2026-03-15", 1, 0, 0, 1},
		{"2026-03-16", "2026-03-22", 0, 1, 0, 0},
		{"2026-03-23", "2026-03-25", 0, 0, 1, 1},
	}, lifecycleRows(got))

	o := b.other(t)
	got, err = o.service.Lifecycle(o.ctx, day(t, "2026-03-02"), day(t, "2026-03-25"), analytics.Week, nil)
	require.NoError(t, err)
	for _, row := range lifecycleRows(got) {
		require.Zero(t, row.New+row.Returning+row.Resurrecting+row.Dormant, "another project sees nothing: %+v", row)
	}
}

func TestLifecycleByDayAndMonth(t *testing.T) {
	t.Parallel()
	b := setup(t, "UTC")
	u := b.user(t, "u", at(t, "2026-01-30T10:00:00Z"))
	b.active(t, u, "2026-01-30", "2026-01-31", "2026-02-02", "2026-04-01")

	days, err := b.service.Lifecycle(b.ctx, day(t, "2026-01-30"), day(t, "2026-02-03"), analytics.Day, nil)
	require.NoError(t, err)
	require.Equal(t, []lifecycleRow{
		{"2026-01-30", "2026-01-30", 1, 0, 0, 0},
		{"2026-01-31", "2026-01-31", 0, 1, 0, 0},
		{"2026-02-01", "2026-02-01", 0, 0, 0, 1},
		{"2026-02-02", "2026-02-02", 0, 0, 1, 0},
		{"2026-02-03", "2026-02-03", 0, 0, 0, 1},
	}, lifecycleRows(days))

	// March is empty: the user is dormant in March, back in April.
	months, err := b.service.Lifecycle(b.ctx, day(t, "2026-01-15"), day(t, "2026-04-30"), analytics.Month, nil)
	require.NoError(t, err)
	require.Equal(t, []lifecycleRow{
		{"2026-01-01", "2026-01-31", 1, 0, 0, 0},
		{"2026-02-01", "2026-02-28", 0, 1, 0, 0},
		{"2026-03-01", "2026-03-31", 0, 0, 0, 1},
		{"2026-04-01", "2026-04-30", 0, 0, 1, 0},
	}, lifecycleRows(months))
}

// Buckets are folded 64 to a mask: with the bucket before the first as
// item 1, Mar 4 is the last item of the first mask and Mar 5 the first of
// the second over a range starting Jan 1.
func TestLifecycleAcrossMasks(t *testing.T) {
	t.Parallel()
	b := setup(t, "UTC")
	x := b.user(t, "x", at(t, "2026-03-10T10:00:00Z"))
	b.active(t, x, "2026-03-10", "2026-03-11", "2026-03-14")
	y := b.user(t, "y", at(t, "2026-03-04T10:00:00Z"))
	b.active(t, y, "2026-03-04", "2026-03-05")
	got, err := b.service.Lifecycle(b.ctx, day(t, "2026-01-01"), day(t, "2026-04-30"), analytics.Day, nil)
	require.NoError(t, err)
	require.Len(t, got, 120)
	nonZero := map[string]lifecycleRow{}
	for _, row := range lifecycleRows(got) {
		if row.New+row.Returning+row.Resurrecting+row.Dormant > 0 {
			nonZero[row.Start] = lifecycleRow{New: row.New, Returning: row.Returning, Resurrecting: row.Resurrecting, Dormant: row.Dormant}
		}
	}
	require.Equal(t, map[string]lifecycleRow{
		"2026-03-04": {New: 1},
		"2026-03-05": {Returning: 1},
		"2026-03-06": {Dormant: 1},
		"2026-03-10": {New: 1},
		"2026-03-11": {Returning: 1},
		"2026-03-12": {Dormant: 1},
		"2026-03-14": {Resurrecting: 1},
		"2026-03-15": {Dormant: 1},
	}, nonZero)
}
