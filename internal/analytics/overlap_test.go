package analytics_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/analytics"
)

// overlapRows shows Overlaps as "A&B 2 0.400".
func overlapRows(overlaps []analytics.Overlap) []string {
	out := make([]string, len(overlaps))
	for i, o := range overlaps {
		out[i] = fmt.Sprintf("%s&%s %d %.3f", o.A.Name, o.B.Name, o.Intersection, o.Jaccard)
	}
	return out
}

func TestSegmentOverlap(t *testing.T) {
	t.Parallel()
	b := setup(t, "UTC")
	var u []int
	for i := range 5 {
		u = append(u, b.user(t, fmt.Sprintf("u%d", i+1), time.Time{}))
	}
	a := b.segment(t, "A", u[0], u[1], u[2], u[3])
	bs := b.segment(t, "B", u[2], u[3], u[4])
	c := b.segment(t, "C")
	d := b.segment(t, "D", u[0])
	e := b.segment(t, "E")
	// History does not count, only current members: u5 left A long ago.
	b.interval(t, a, u[4], at(t, "2026-01-01T00:00:00Z"), at(t, "2026-01-02T00:00:00Z"))

	got, err := b.service.SegmentOverlap(b.ctx, []int{a, bs, c, d})
	require.NoError(t, err)
	require.Equal(t, []string{
		"A&B 2 0.400", // {u3, u4} of {u1..u5}
		"A&C 0 0.000",
		"A&D 1 0.250",
		"B&C 0 0.000",
		"B&D 0 0.000",
		"C&D 0 0.000",
	}, overlapRows(got))

	got, err = b.service.SegmentOverlap(b.ctx, []int{c, e})
	require.NoError(t, err)
	require.Equal(t, []string{"C&E 0 0.000"}, overlapRows(got), "two empty segments: Jaccard 0, not NaN")

	// Another project's key cannot name these segments.
	o := b.other(t)
	_, err = o.service.SegmentOverlap(o.ctx, []int{a, bs})
	requireField(t, err, "segmentIds[0]")
}
