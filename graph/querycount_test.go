package graph_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNestedQueryCount proves nested connections are loaded per level, not
// per parent: segments → members → user.segments costs the same number of
// SQL statements for one segment as for five.
func TestNestedQueryCount(t *testing.T) {
	t.Parallel()
	const query = `query($n: Int!) {
	  segments(first: $n) { totalCount edges { node { id name
	    members(first: 10) { totalCount edges { node { externalId
	      segments(first: 10) { totalCount edges { node { name } } } } } } } } }
	}`

	count := func(segments int) int64 {
		b := setup(t)
		s := seed(t, b, b.project, "q", 6)
		for i := 1; i < segments; i++ {
			seg, err := b.client.Segment.Create().SetName(fmt.Sprintf("extra %d", i)).Save(b.project.ctx)
			require.NoError(t, err)
			for _, u := range s.Users[:3] {
				require.NoError(t, b.client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(u.ID).Exec(b.project.ctx))
			}
		}
		var out struct {
			Segments struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Members struct {
							TotalCount int
							Edges      []struct {
								Node struct {
									Segments struct{ TotalCount int }
								}
							}
						}
					}
				}
			}
		}
		before := b.queries.Load()
		b.query(t, b.project.Read, query, map[string]any{"n": segments}, &out)
		used := b.queries.Load() - before
		require.Equal(t, segments, out.Segments.TotalCount)
		require.Len(t, out.Segments.Edges, segments)
		for _, e := range out.Segments.Edges {
			require.NotEmpty(t, e.Node.Members.Edges)
			for _, m := range e.Node.Members.Edges {
				require.Positive(t, m.Node.Segments.TotalCount)
			}
		}
		return used
	}

	one, five := count(1), count(5)
	t.Logf("SQL statements: %d for 1 segment, %d for 5", one, five)
	require.Equal(t, one, five, "nested connections must not issue a query per parent")
	require.LessOrEqual(t, five, int64(8))
}
