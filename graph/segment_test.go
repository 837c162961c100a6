package graph_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	entsegment "github.com/pulse-analytics/pulse/ent/segment"
)

const createSegment = `mutation($input: CreateSegmentInput!) {
  createSegment(input: $input) { id name description kind rule status size refreshIntervalSeconds definitionVersion }
}`

type segmentOut struct {
	ID                     string          `json:"id"`
	Name                   string          `json:"name"`
	Description            string          `json:"description"`
	Kind                   string          `json:"kind"`
	Rule                   json.RawMessage `json:"rule"`
	Status                 string          `json:"status"`
	Size                   int             `json:"size"`
	RefreshIntervalSeconds int             `json:"refreshIntervalSeconds"`
	DefinitionVersion      int             `json:"definitionVersion"`
	ArchivedAt             *string         `json:"archivedAt"`
}

func TestCreateSegment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rule := map[string]any{"and": []any{
		map[string]any{"event": map[string]any{"name": "export", "count": map[string]any{"op": "GTE", "value": 3}, "withinDays": 30}},
		map[string]any{"platform": map[string]any{"platform": "MOBILE", "minShare": 0.7, "withinDays": 28}},
	}}
	var out struct{ CreateSegment segmentOut }
	b.query(t, b.project.Admin, createSegment, map[string]any{"input": map[string]any{
		"name": "  Mobile exporters ", "description": "power users on phones", "rule": rule,
	}}, &out)
	got := out.CreateSegment
	require.Equal(t, "Mobile exporters", got.Name)
	require.Equal(t, "DYNAMIC", got.Kind)
	require.Equal(t, "PENDING", got.Status)
	require.Equal(t, 900, got.RefreshIntervalSeconds)
	require.Equal(t, 1, got.DefinitionVersion)
	require.JSONEq(t, `{"and":[
	  {"event":{"name":"export","count":{"op":"GTE","value":3},"withinDays":30}},
	  {"platform":{"platform":"MOBILE","minShare":0.7,"withinDays":28}}]}`, string(got.Rule))

	stored, err := b.client.Segment.Query().Where(entsegment.Name("Mobile exporters")).Only(b.project.ctx)
	require.NoError(t, err)
	require.Equal(t, b.project.ID, stored.ProjectID, "project comes from the key")
}

// TestSegmentValidation checks that bad definitions are refused with
// BAD_USER_INPUT naming the offending input field, and nothing is stored.
func TestSegmentValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := seed(t, b, b.project, "v", 1)

	tests := []struct {
		name      string
		input     map[string]any
		wantCode  string
		wantField string
		wantMsg   string
	}{
		{"empty name", map[string]any{"name": " ", "rule": map[string]any{"firstSeen": map[string]any{"withinDays": 14}}},
			"BAD_USER_INPUT", "input.name", "must not be empty"},
		{"dynamic without rule", map[string]any{"name": "x"}, "BAD_USER_INPUT", "input.rule", "needs a rule"},
		{"static with rule", map[string]any{"name": "x", "kind": "STATIC", "rule": map[string]any{"firstSeen": map[string]any{"withinDays": 14}}},
			"BAD_USER_INPUT", "input.rule", "STATIC segment has no rule"},
		{"two fields in one node", map[string]any{"name": "x", "rule": map[string]any{
			"firstSeen": map[string]any{"withinDays": 14}, "lastSeen": map[string]any{"withinDays": 3}}},
			"BAD_USER_INPUT", "", ""},
		{"empty and", map[string]any{"name": "x", "rule": map[string]any{"and": []any{}}},
			"BAD_USER_INPUT", "input.rule.and", "needs at least one rule"},
		{"negative window deep inside", map[string]any{"name": "x", "rule": map[string]any{"or": []any{
			map[string]any{"firstSeen": map[string]any{"withinDays": 14}},
			map[string]any{"not": map[string]any{"event": map[string]any{"name": "export", "withinDays": -2}}},
		}}}, "BAD_USER_INPUT", "input.rule.or[1].not.event.withinDays", "at least 1 day"},
		{"share out of range", map[string]any{"name": "x", "rule": map[string]any{"platform": map[string]any{"platform": "MOBILE", "minShare": 1.5, "withinDays": 28}}},
			"BAD_USER_INPUT", "input.rule.platform.minShare", "(0, 1]"},
		{"IN without values", map[string]any{"name": "x", "rule": map[string]any{"trait": map[string]any{"key": "plan", "op": "IN"}}},
			"BAD_USER_INPUT", "input.rule.trait.values", "at least one value"},
		{"object as a trait value", map[string]any{"name": "x", "rule": map[string]any{"trait": map[string]any{"key": "plan", "op": "EQ", "value": map[string]any{"a": 1}}}},
			"BAD_USER_INPUT", "input.rule.trait.value", "string, number or boolean"},
		{"unknown segment", map[string]any{"name": "x", "rule": map[string]any{"inSegment": unknownID(t, "segments")}},
			"NOT_FOUND", "", "segment " + unknownID(t, "segments") + " not found"},
		{"question of another survey", map[string]any{"name": "x", "rule": map[string]any{"survey": map[string]any{
			"surveyId": gid(other.Survey.ID), "questionId": unknownID(t, "survey_questions"), "score": map[string]any{"op": "GTE", "value": 9}}}},
			"NOT_FOUND", "", "is not a question of survey"},
		{"refresh too often", map[string]any{"name": "x", "refreshIntervalSeconds": 5, "rule": map[string]any{"firstSeen": map[string]any{"withinDays": 14}}},
			"BAD_USER_INPUT", "input.refreshIntervalSeconds", "between 60"},
		{"zero refresh", map[string]any{"name": "x", "refreshIntervalSeconds": 0, "rule": map[string]any{"firstSeen": map[string]any{"withinDays": 14}}},
			"BAD_USER_INPUT", "input.refreshIntervalSeconds", "between 60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, res := b.do(t, b.project.Admin, createSegment, map[string]any{"input": tt.input})
			require.Equal(t, tt.wantCode, res.code(), "errors: %+v", res.Errors)
			require.Equal(t, []any{"createSegment"}, res.Errors[0].Path[:1])
			if tt.wantField != "" {
				require.Equal(t, tt.wantField, res.Errors[0].Extensions["field"])
			}
			require.Contains(t, res.Errors[0].Message, tt.wantMsg)
		})
	}
	count, err := b.client.Segment.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, count, "only the seeded segment exists")
}

func TestUpdateAndArchiveSegment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var created struct{ CreateSegment segmentOut }
	b.query(t, b.project.Admin, createSegment, map[string]any{"input": map[string]any{
		"name": "new users", "rule": map[string]any{"firstSeen": map[string]any{"withinDays": 14}},
	}}, &created)
	id := created.CreateSegment.ID

	const update = `mutation($id: ID!, $input: UpdateSegmentInput!) {
	  updateSegment(id: $id, input: $input) { id name rule definitionVersion refreshIntervalSeconds }
	}`
	var updated struct{ UpdateSegment segmentOut }
	b.query(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{"name": "renamed", "refreshIntervalSeconds": 3600}}, &updated)
	require.Equal(t, "renamed", updated.UpdateSegment.Name)
	require.Equal(t, 1, updated.UpdateSegment.DefinitionVersion, "a rename is not a new definition")
	require.Equal(t, 3600, updated.UpdateSegment.RefreshIntervalSeconds)

	b.query(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{
		"rule": map[string]any{"firstSeen": map[string]any{"withinDays": 7}}}}, &updated)
	require.Equal(t, 2, updated.UpdateSegment.DefinitionVersion)
	require.JSONEq(t, `{"firstSeen":{"withinDays":7}}`, string(updated.UpdateSegment.Rule))

	_, res := b.do(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{"rule": map[string]any{"inSegment": id}}})
	require.Equal(t, "BAD_USER_INPUT", res.code(), "a segment cannot contain itself")
	require.Contains(t, res.Errors[0].Message, "the segment itself")

	// A cycle through another segment: B contains A, then A is changed to contain B.
	var other struct{ CreateSegment segmentOut }
	b.query(t, b.project.Admin, createSegment, map[string]any{"input": map[string]any{
		"name": "inside", "rule": map[string]any{"inSegment": id}}}, &other)
	_, res = b.do(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{"rule": map[string]any{
		"not": map[string]any{"inSegment": other.CreateSegment.ID}}}})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Contains(t, res.Errors[0].Message, "leads back to segment")

	const archive = `mutation($id: ID!) { archiveSegment(id: $id) { id archivedAt } }`
	var archived struct{ ArchiveSegment segmentOut }
	b.query(t, b.project.Admin, archive, map[string]any{"id": id}, &archived)
	require.NotNil(t, archived.ArchiveSegment.ArchivedAt)

	var list struct {
		All     struct{ TotalCount int } `json:"all"`
		Visible struct{ TotalCount int } `json:"visible"`
	}
	b.query(t, b.project.Read, `{ all: segments(includeArchived: true) { totalCount } visible: segments { totalCount } }`, nil, &list)
	require.Equal(t, 2, list.All.TotalCount)
	require.Equal(t, 1, list.Visible.TotalCount)

	_, res = b.do(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{"name": "again"}})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Contains(t, res.Errors[0].Message, "archived")
}

func TestSegmentTemplates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var list struct {
		SegmentTemplates []struct {
			Key      string
			Name     string
			Rule     json.RawMessage
			RuleText string
		}
	}
	b.query(t, b.project.Read, `{ segmentTemplates { key name rule ruleText } }`, nil, &list)
	require.Len(t, list.SegmentTemplates, 7)
	require.Equal(t, "HIGHLY_ENGAGED", list.SegmentTemplates[0].Key)
	require.JSONEq(t, `{"activity":{"activeDays":{"op":"GTE","value":5},"withinDays":7}}`, string(list.SegmentTemplates[0].Rule))

	var out struct{ CreateSegment segmentOut }
	b.query(t, b.project.Admin, `mutation { createSegment(input: {template: DORMANT}) { id name description rule kind } }`, nil, &out)
	require.Equal(t, "Dormant", out.CreateSegment.Name)
	require.Equal(t, "Seen before, but not in the last 30 days.", out.CreateSegment.Description)
	require.JSONEq(t, `{"lastSeen":{"moreThanDaysAgo":30}}`, string(out.CreateSegment.Rule))

	b.query(t, b.project.Admin, `mutation { createSegment(input: {template: NEW_USERS, name: "Fresh"}) { name } }`, nil, &out)
	require.Equal(t, "Fresh", out.CreateSegment.Name)

	_, res := b.do(t, b.project.Admin, `mutation { createSegment(input: {template: NEW_USERS, rule: {firstSeen: {withinDays: 3}}}) { id } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, "input.rule", res.Errors[0].Extensions["field"])
}
