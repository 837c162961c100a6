package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
)

// TestMembershipHistory answers point-in-time questions from crafted
// intervals: u0 was in from t0 to t2, u1 from t1 on, u2 from t3 on.
func TestMembershipHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "h", 3)
	seg, err := b.client.Segment.Create().SetName("history").Save(b.project.ctx)
	require.NoError(t, err)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t1, t2, t3 := t0.Add(24*time.Hour), t0.Add(48*time.Hour), t0.Add(72*time.Hour)
	for _, iv := range []struct {
		user       int
		from, till time.Time
	}{{0, t0, t2}, {1, t1, time.Time{}}, {2, t3, time.Time{}}} {
		c := b.client.SegmentMembership.Create().SetSegmentID(seg.ID).SetUserID(s.Users[iv.user].ID).SetEnteredAt(iv.from)
		if !iv.till.IsZero() {
			c.SetExitedAt(iv.till)
		}
		require.NoError(t, c.Exec(b.project.ctx))
	}
	for i, at := range []time.Time{t0, t1, t2, t3} {
		require.NoError(t, b.client.SegmentRun.Create().SetSegmentID(seg.ID).SetTrigger(segmentrun.TriggerSCHEDULE).
			SetStatus(segmentrun.StatusCOMPLETED).SetSeq(i+1).SetFinishedAt(at).SetSizeAfter([]int{1, 2, 1, 2}[i]).Exec(b.project.ctx))
	}

	membersAt := func(at time.Time) []string {
		var out struct {
			Node struct {
				MembersAt struct {
					Edges []struct{ Node struct{ ExternalID string } }
				}
			}
		}
		b.query(t, b.project.Read, `query($id: ID!, $at: Time!) { node(id: $id) { ... on Segment {
		  membersAt(at: $at, first: 10, orderBy: [{field: EXTERNAL_ID}]) { edges { node { externalId } } } } } }`,
			map[string]any{"id": gid(seg.ID), "at": at}, &out)
		ids := []string{}
		for _, e := range out.Node.MembersAt.Edges {
			ids = append(ids, e.Node.ExternalID)
		}
		return ids
	}
	minute := time.Minute
	require.Equal(t, []string{}, membersAt(t0.Add(-minute)))
	require.Equal(t, []string{"h-0"}, membersAt(t0), "an interval includes its start")
	require.Equal(t, []string{"h-0", "h-1"}, membersAt(t1.Add(minute)))
	require.Equal(t, []string{"h-1"}, membersAt(t2), "and excludes its end")
	require.Equal(t, []string{"h-1", "h-2"}, membersAt(t3.Add(minute)))

	var history struct {
		Node struct {
			SizeHistory []struct {
				At   time.Time
				Size int
				Seq  int
			}
		}
	}
	b.query(t, b.project.Read, `query($id: ID!, $from: Time) { node(id: $id) { ... on Segment { sizeHistory(from: $from) { at size seq } } } }`,
		map[string]any{"id": gid(seg.ID), "from": t1}, &history)
	require.Len(t, history.Node.SizeHistory, 3)
	require.Equal(t, 2, history.Node.SizeHistory[0].Size)
	require.Equal(t, 2, history.Node.SizeHistory[0].Seq)
	require.True(t, history.Node.SizeHistory[2].At.Equal(t3))
}
