package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const recomputeMutation = `mutation($id: ID!) { recomputeSegment(id: $id) { id status trigger jobId segment { id } } }`

type runOut struct {
	ID      string
	Status  string
	Trigger string
	JobID   *int `json:"jobId"`
	Segment struct{ ID string }
}

func TestRecomputeSegment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "r", 2)

	var first, second struct{ RecomputeSegment runOut }
	b.query(t, b.project.Admin, recomputeMutation, map[string]any{"id": gid(s.Segment.ID)}, &first)
	require.Equal(t, "PENDING", first.RecomputeSegment.Status)
	require.Equal(t, "MANUAL", first.RecomputeSegment.Trigger)
	require.NotNil(t, first.RecomputeSegment.JobID)
	require.Equal(t, gid(s.Segment.ID), first.RecomputeSegment.Segment.ID)

	b.query(t, b.project.Admin, recomputeMutation, map[string]any{"id": gid(s.Segment.ID)}, &second)
	require.Equal(t, first.RecomputeSegment.ID, second.RecomputeSegment.ID, "one waiting run per segment")

	var all struct {
		RecomputeAllSegments []runOut
	}
	b.query(t, b.project.Admin, `mutation { recomputeAllSegments { id status } }`, nil, &all)
	require.Len(t, all.RecomputeAllSegments, 1)
	require.Equal(t, first.RecomputeSegment.ID, all.RecomputeAllSegments[0].ID)

	_, res := b.do(t, b.project.Read, recomputeMutation, map[string]any{"id": gid(s.Segment.ID)})
	require.Equal(t, "FORBIDDEN", res.code())
	other := b.newProject(t, "other")
	_, res = b.do(t, other.Admin, recomputeMutation, map[string]any{"id": gid(s.Segment.ID)})
	require.Equal(t, "NOT_FOUND", res.code())
}

func TestDefinitionChangeQueuesRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var created struct{ CreateSegment struct{ ID string } }
	b.query(t, b.project.Admin, `mutation { createSegment(input: {name: "new", rule: {firstSeen: {withinDays: 14}}}) { id } }`, nil, &created)
	var runs struct {
		Node struct {
			Runs struct {
				Edges []struct{ Node runOut }
			}
		}
	}
	b.query(t, b.project.Read, `query($id: ID!) { node(id: $id) { ... on Segment { runs(first: 5) { edges { node { status trigger } } } } } }`,
		map[string]any{"id": created.CreateSegment.ID}, &runs)
	require.Len(t, runs.Node.Runs.Edges, 1)
	require.Equal(t, "DEFINITION_CHANGE", runs.Node.Runs.Edges[0].Node.Trigger)
	require.Equal(t, "PENDING", runs.Node.Runs.Edges[0].Node.Status)
}

func TestStaticSegmentMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b, b.project, "m", 3)
	var created struct{ CreateSegment struct{ ID string } }
	b.query(t, b.project.Admin, `mutation { createSegment(input: {name: "beta testers", kind: STATIC}) { id } }`, nil, &created)
	id := created.CreateSegment.ID

	type changeOut struct {
		Status       string
		EnteredCount int `json:"enteredCount"`
		ExitedCount  int `json:"exitedCount"`
		SizeAfter    int `json:"sizeAfter"`
		Seq          int
	}
	var added struct{ AddSegmentMembers changeOut }
	b.query(t, b.project.Admin, `mutation($id: ID!) { addSegmentMembers(id: $id, externalIds: ["m-0", "m-2"]) { status enteredCount exitedCount sizeAfter seq } }`,
		map[string]any{"id": id}, &added)
	require.Equal(t, changeOut{Status: "COMPLETED", EnteredCount: 2, SizeAfter: 2, Seq: 1}, added.AddSegmentMembers)

	var removed struct{ RemoveSegmentMembers changeOut }
	b.query(t, b.project.Admin, `mutation($id: ID!) { removeSegmentMembers(id: $id, externalIds: ["m-0"]) { status enteredCount exitedCount sizeAfter seq } }`,
		map[string]any{"id": id}, &removed)
	require.Equal(t, changeOut{Status: "COMPLETED", ExitedCount: 1, SizeAfter: 1, Seq: 2}, removed.RemoveSegmentMembers)

	var seg struct {
		Node struct {
			Size    int
			Members struct {
				Edges []struct{ Node struct{ ExternalID string } }
			}
		}
	}
	b.query(t, b.project.Read, `query($id: ID!) { node(id: $id) { ... on Segment { size members(first: 5) { edges { node { externalId } } } } } }`,
		map[string]any{"id": id}, &seg)
	require.Equal(t, 1, seg.Node.Size)
	require.Equal(t, "m-2", seg.Node.Members.Edges[0].Node.ExternalID)

	_, res := b.do(t, b.project.Admin, `mutation($id: ID!) { addSegmentMembers(id: $id, externalIds: ["nobody"]) { id } }`, map[string]any{"id": id})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Contains(t, res.Errors[0].Message, "nobody")
	other := b.newProject(t, "other")
	_, res = b.do(t, other.Admin, `mutation($id: ID!) { addSegmentMembers(id: $id, externalIds: ["m-1"]) { id } }`, map[string]any{"id": id})
	require.Equal(t, "NOT_FOUND", res.code())
}
