package analytics_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The transitions compare Mar 1 and Mar 15 at noon, with the segments listed
// as [P, C].
func TestSegmentTransitions(t *testing.T) {
	t.Parallel()
	b := setup(t, "UTC")
	var u []int
	for i := range 8 {
		u = append(u, b.user(t, fmt.Sprintf("u%d", i+1), time.Time{}))
	}
	p := b.segment(t, "P")
	c := b.segment(t, "C")
	none := time.Time{}
	t1, t2 := at(t, "2026-03-01T12:00:00Z"), at(t, "2026-03-15T12:00:00Z")
	feb1 := at(t, "2026-02-01T00:00:00Z")
	b.interval(t, p, u[0], feb1, none)                                                   // P to P
	b.interval(t, p, u[1], feb1, at(t, "2026-03-10T00:00:00Z"))                          // P to C
	b.interval(t, c, u[1], at(t, "2026-03-10T00:00:00Z"), none)                          //
	b.interval(t, c, u[2], feb1, at(t, "2026-03-05T00:00:00Z"))                          // C to none
	b.interval(t, c, u[3], at(t, "2026-03-02T00:00:00Z"), none)                          // none to C
	b.interval(t, p, u[4], feb1, none)                                                   // in both: P first
	b.interval(t, c, u[4], feb1, none)                                                   //
	b.interval(t, p, u[5], at(t, "2026-03-02T00:00:00Z"), at(t, "2026-03-03T00:00:00Z")) // in and out between
	b.interval(t, c, u[6], t1, t2)                                                       // entered at t1: in; exited at t2: out
	b.interval(t, p, u[7], at(t, "2026-01-01T00:00:00Z"), feb1)                          // out before

	cells := func(ids []int, from, to time.Time) []string {
		got, err := b.service.SegmentTransitions(b.ctx, ids, from, to)
		require.NoError(t, err)
		out := make([]string, len(got))
		for i, cell := range got {
			from, to := "none", "none"
			if cell.From != nil {
				from = cell.From.Name
			}
			if cell.To != nil {
				to = cell.To.Name
			}
			out[i] = fmt.Sprintf("%s>%s %d", from, to, cell.Users)
		}
		return out
	}
	require.Equal(t, []string{
		"P>P 2", "P>C 1", "P>none 0",
		"C>P 0", "C>C 0", "C>none 2",
		"none>P 0", "none>C 1",
	}, cells([]int{p, c}, t1, t2))
	// Listed the other way round, u5 (in both) counts in C.
	require.Equal(t, []string{
		"C>C 1", "C>P 0", "C>none 2",
		"P>C 1", "P>P 1", "P>none 0",
		"none>C 1", "none>P 0",
	}, cells([]int{c, p}, t1, t2))
	// The same instant twice: everyone stays.
	require.Equal(t, []string{"P>P 3", "P>none 0", "none>P 0"}, cells([]int{p}, t1, t1)) // u1, u2, u5

	_, err := b.service.SegmentTransitions(b.ctx, []int{p, c}, t2, t1)
	requireField(t, err, "from")
	o := b.other(t)
	got, err := o.service.SegmentTransitions(o.ctx, []int{o.segment(t, "theirs")}, t1, t2)
	require.NoError(t, err)
	for _, cell := range got {
		require.Zero(t, cell.Users)
	}
}
