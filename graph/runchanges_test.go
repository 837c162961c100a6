package graph_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
)

// TestRunChangesPages pages run.entered and run.exited of every run of a
// segment in one query, as a dashboard lists a segment's runs with the
// users each moved: a run with several pages, one that moved users out, one
// that moved nobody, at every cursor of the busiest run and with first 0.
func TestRunChangesPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.project.ctx
	now := time.Now().UTC().Truncate(time.Second)
	seg, err := b.client.Segment.Create().SetName("moved").SetRule([]byte(`{"lastSeen":{"withinDays":7}}`)).Save(ctx)
	require.NoError(t, err)
	var users []int
	for i := range 5 {
		u, err := b.client.User.Create().SetExternalID(fmt.Sprintf("u-%d", i)).Save(ctx)
		require.NoError(t, err)
		users = append(users, u.ID)
	}
	var runs []int
	for seq := 1; seq <= 3; seq++ {
		r, err := b.client.SegmentRun.Create().SetSegmentID(seg.ID).SetTrigger(segmentrun.TriggerMANUAL).
			SetStatus(segmentrun.StatusCOMPLETED).SetSeq(seq).Save(ctx)
		require.NoError(t, err)
		runs = append(runs, r.ID)
	}
	// Run 1 lets everyone in; run 2 lets 1 and 3 out; run 3 moves nobody.
	entered := map[int][]int{runs[0]: users}
	exited := map[int][]int{runs[1]: {users[1], users[3]}}
	for _, u := range users {
		m := b.client.SegmentMembership.Create().SetSegmentID(seg.ID).SetUserID(u).SetEnteredAt(now).SetEnteredRunID(runs[0])
		if slices.Contains(exited[runs[1]], u) {
			m.SetExitedAt(now).SetExitedRunID(runs[1])
		}
		require.NoError(t, m.Exec(ctx))
	}
	const query = `query($id: ID!, $first: Int, $after: Cursor) { node(id: $id) { ... on Segment { runs(first: 10) { edges { node { id
	  entered(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
	  exited(first: $first, after: $after) { totalCount pageInfo { hasNextPage } edges { node { id } } } } } } } } }`
	type page struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage bool
			EndCursor   *string
		}
		Edges []struct{ Node struct{ ID string } }
	}
	ids := func(p page) []string {
		out := []string{}
		for _, e := range p.Edges {
			out = append(out, e.Node.ID)
		}
		return out
	}
	want := func(moved []int, after, first int) ([]string, bool) {
		out := []string{}
		for _, u := range moved {
			if u > after {
				out = append(out, gid(u))
			}
		}
		return out[:min(first, len(out))], len(out) > first
	}
	check := func(t *testing.T, first int, after *string, afterID int) (endCursor *string) {
		t.Helper()
		var out struct {
			Node struct {
				Runs struct {
					Edges []struct {
						Node struct {
							ID              string
							Entered, Exited page
						}
					}
				}
			}
		}
		b.query(t, b.project.Read, query, map[string]any{"id": gid(seg.ID), "first": first, "after": after}, &out)
		require.Len(t, out.Node.Runs.Edges, 3)
		for _, e := range out.Node.Runs.Edges {
			var run int
			_, err := fmt.Sscan(e.Node.ID, &run)
			require.NoError(t, err)
			for side, got := range map[string]page{"entered": e.Node.Entered, "exited": e.Node.Exited} {
				moved := map[string]map[int][]int{"entered": entered, "exited": exited}[side][run]
				wantIDs, wantNext := want(moved, afterID, first)
				require.Equal(t, wantIDs, ids(got), "%s of run %d, first %d after %d", side, run, first, afterID)
				require.Equal(t, wantNext, got.PageInfo.HasNextPage, "%s of run %d: hasNextPage", side, run)
				require.Equal(t, len(moved), got.TotalCount, "%s of run %d: totalCount", side, run)
			}
			if run == runs[0] {
				endCursor = e.Node.Entered.PageInfo.EndCursor
			}
		}
		return endCursor
	}
	check(t, 0, nil, 0)
	var after *string
	for i := 0; ; i += 2 {
		afterID := 0
		if i > 0 {
			afterID = users[i-1]
		}
		after = check(t, 2, after, afterID)
		if i+2 >= len(users) {
			break
		}
		require.NotNil(t, after)
	}
}
