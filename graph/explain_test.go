package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExplainMembership explains a two-condition rule for a user who meets
// one condition and not the other.
func TestExplainMembership(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "x", 2) // x-0: plan free, one export and one login
	var created struct{ CreateSegment struct{ ID string } }
	b.query(t, b.project.Admin, `mutation { createSegment(input: {name: "heavy exporters", rule: {and: [
	  {event: {name: "export", count: {op: GTE, value: 3}, withinDays: 30}},
	  {trait: {key: "plan", op: EQ, value: "free"}}]}}) { id } }`, nil, &created)

	type node struct {
		Path     string
		Text     string
		Holds    bool
		Observed *string
		Children []node
	}
	var out struct {
		ExplainMembership struct {
			Member bool
			Holds  bool
			Rule   node
		}
	}
	b.query(t, b.project.Read, `query($s: ID!, $u: ID!) { explainMembership(segmentId: $s, userId: $u) {
	  member holds rule { path text holds observed children { path text holds observed children { path } } } } }`,
		map[string]any{"s": created.CreateSegment.ID, "u": gid(s.Users[0].ID)}, &out)
	got := out.ExplainMembership
	require.False(t, got.Holds)
	require.False(t, got.Member)
	require.Equal(t, "rule", got.Rule.Path)
	require.Len(t, got.Rule.Children, 2)
	export := got.Rule.Children[0]
	require.Equal(t, "rule.and[0]", export.Path)
	require.False(t, export.Holds)
	require.Equal(t, "export: 1 times in the last 30 days", *export.Observed)
	require.Equal(t, "export ≥ 3 times in the last 30 days", export.Text)
	plan := got.Rule.Children[1]
	require.True(t, plan.Holds)
	require.Equal(t, `plan = "free"`, *plan.Observed)

	other := b.newProject(t, "other")
	_, res := b.do(t, other.Read, `query($s: ID!, $u: ID!) { explainMembership(segmentId: $s, userId: $u) { holds } }`,
		map[string]any{"s": created.CreateSegment.ID, "u": gid(s.Users[0].ID)})
	require.Equal(t, "NOT_FOUND", res.code())
}
