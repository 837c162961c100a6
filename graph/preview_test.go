package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const previewQuery = `query($rule: RuleInput!, $segmentId: ID) {
  previewSegment(rule: $rule, segmentId: $segmentId) { size entering leaving sample { externalId } }
}`

type previewOut struct {
	PreviewSegment struct {
		Size     int
		Entering *int
		Leaving  *int
		Sample   []struct {
			ExternalID string `json:"externalId"`
		}
	}
}

// TestPreviewSegment: six seeded users alternate free/pro plans; the seeded
// segment holds the three free users (u-0, u-2, u-4).
func TestPreviewSegment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "p", 6)
	pro := map[string]any{"trait": map[string]any{"key": "plan", "op": "EQ", "value": "pro"}}

	var out previewOut
	b.query(t, b.project.Read, previewQuery, map[string]any{"rule": pro}, &out)
	require.Equal(t, 3, out.PreviewSegment.Size)
	require.Nil(t, out.PreviewSegment.Entering)
	ids := []string{}
	for _, u := range out.PreviewSegment.Sample {
		ids = append(ids, u.ExternalID)
	}
	require.Equal(t, []string{"p-1", "p-3", "p-5"}, ids)

	b.query(t, b.project.Read, previewQuery, map[string]any{"rule": pro, "segmentId": gid(s.Segment.ID)}, &out)
	require.Equal(t, 3, *out.PreviewSegment.Entering, "the pro users are not members")
	require.Equal(t, 3, *out.PreviewSegment.Leaving, "the free members would leave")

	b.query(t, b.project.Read, previewQuery, map[string]any{"rule": map[string]any{"and": []any{
		map[string]any{"inSegment": gid(s.Segment.ID)},
		map[string]any{"trait": map[string]any{"key": "index", "op": "GTE", "value": 2}},
	}}}, &out)
	require.Equal(t, 2, out.PreviewSegment.Size, "members p-2 and p-4")

	runs, err := b.client.SegmentRun.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, runs, "a preview writes nothing")

	_, res := b.do(t, b.project.Ingest, previewQuery, map[string]any{"rule": pro})
	require.Equal(t, "FORBIDDEN", res.code())

	other := b.newProject(t, "other")
	_, res = b.do(t, other.Read, previewQuery, map[string]any{"rule": map[string]any{"inSegment": gid(s.Segment.ID)}})
	require.Equal(t, "NOT_FOUND", res.code(), "another project's segment does not exist")
	_, res = b.do(t, other.Read, previewQuery, map[string]any{"rule": pro, "segmentId": gid(s.Segment.ID)})
	require.Equal(t, "NOT_FOUND", res.code())

	_, res = b.do(t, b.project.Read, previewQuery, map[string]any{"rule": map[string]any{"firstSeen": map[string]any{"withinDays": 0}}})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, "rule.firstSeen.withinDays", res.Errors[0].Extensions["field"])
}

func TestRuleText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var out struct {
		CreateSegment struct{ RuleText string }
	}
	b.query(t, b.project.Admin, `mutation { createSegment(input: {name: "x", rule: {and: [
	  {event: {name: "export", count: {op: GTE, value: 3}, withinDays: 30}},
	  {platform: {platform: MOBILE, minShare: 0.7, withinDays: 28}}]}}) { ruleText } }`, nil, &out)
	require.Equal(t, "export ≥ 3 times in the last 30 days AND MOBILE ≥ 70% of events in the last 28 days", out.CreateSegment.RuleText)
}
