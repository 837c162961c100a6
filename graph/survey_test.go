package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const createSurvey = `mutation($input: CreateSurveyInput!) {
  createSurvey(input: $input) { id name status targetSegment { id } questions { id kind prompt choices required } }
}`

type surveyOut struct {
	ID            string
	Name          string
	Status        string
	TargetSegment *struct{ ID string }
	Questions     []struct {
		ID       string
		Kind     string
		Prompt   string
		Choices  []string
		Required bool
	}
}

func TestCreateAndUpdateSurvey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "s", 1)

	var created struct{ CreateSurvey surveyOut }
	b.query(t, b.project.Admin, createSurvey, map[string]any{"input": map[string]any{
		"name": "Onboarding", "status": "ACTIVE", "targetSegmentId": gid(s.Segment.ID),
		"questions": []any{
			map[string]any{"kind": "NPS", "prompt": "How likely are you to recommend us?", "required": true},
			map[string]any{"kind": "SINGLE_CHOICE", "prompt": "Role?", "choices": []string{"dev", "pm"}},
		},
	}}, &created)
	got := created.CreateSurvey
	require.Equal(t, "ACTIVE", got.Status)
	require.Equal(t, gid(s.Segment.ID), got.TargetSegment.ID)
	require.Len(t, got.Questions, 2)
	require.Equal(t, "NPS", got.Questions[0].Kind)
	require.True(t, got.Questions[0].Required)
	require.Equal(t, []string{"dev", "pm"}, got.Questions[1].Choices)

	const update = `mutation($id: ID!, $input: UpdateSurveyInput!) {
	  updateSurvey(id: $id, input: $input) { id name status targetSegment { id } questions { kind prompt } }
	}`
	var updated struct{ UpdateSurvey surveyOut }
	b.query(t, b.project.Admin, update, map[string]any{"id": got.ID, "input": map[string]any{
		"name": "Onboarding v2", "status": "CLOSED", "clearTargetSegment": true,
		"questions": []any{map[string]any{"kind": "TEXT", "prompt": "Anything else?"}},
	}}, &updated)
	require.Equal(t, "Onboarding v2", updated.UpdateSurvey.Name)
	require.Equal(t, "CLOSED", updated.UpdateSurvey.Status)
	require.Nil(t, updated.UpdateSurvey.TargetSegment)
	require.Len(t, updated.UpdateSurvey.Questions, 1)

	// The seeded survey has a response: its questions can no longer change.
	_, res := b.do(t, b.project.Admin, update, map[string]any{"id": gid(s.Survey.ID), "input": map[string]any{
		"questions": []any{map[string]any{"kind": "TEXT", "prompt": "?"}}}})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, "input.questions", res.Errors[0].Extensions["field"])
}

func TestSurveyValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name      string
		input     map[string]any
		wantField string
	}{
		{"no questions", map[string]any{"name": "x", "questions": []any{}}, "input.questions"},
		{"blank name", map[string]any{"name": "", "questions": []any{map[string]any{"kind": "NPS", "prompt": "?"}}}, "input.name"},
		{"choice without choices", map[string]any{"name": "x", "questions": []any{
			map[string]any{"kind": "NPS", "prompt": "?"},
			map[string]any{"kind": "MULTI_CHOICE", "prompt": "which?", "choices": []string{"a"}}}}, "input.questions[1].choices"},
		{"duplicate choice", map[string]any{"name": "x", "questions": []any{
			map[string]any{"kind": "SINGLE_CHOICE", "prompt": "which?", "choices": []string{"a", "b", "a"}}}}, "input.questions[0].choices[2]"},
		{"choices on NPS", map[string]any{"name": "x", "questions": []any{
			map[string]any{"kind": "NPS", "prompt": "?", "choices": []string{"a", "b"}}}}, "input.questions[0].choices"},
		{"blank prompt", map[string]any{"name": "x", "questions": []any{map[string]any{"kind": "TEXT", "prompt": "  "}}}, "input.questions[0].prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, res := b.do(t, b.project.Admin, createSurvey, map[string]any{"input": tt.input})
			require.Equal(t, "BAD_USER_INPUT", res.code(), "errors: %+v", res.Errors)
			require.Equal(t, tt.wantField, res.Errors[0].Extensions["field"])
		})
	}
	n, err := b.client.Survey.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestUpdateFeedback(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "f", 1)
	id := gid(s.Feedback[0].ID)
	const update = `mutation($id: ID!, $input: UpdateFeedbackInput!) {
	  updateFeedback(id: $id, input: $input) { id status tags }
	}`
	type out struct {
		UpdateFeedback struct {
			Status string
			Tags   []string
		}
	}
	var got out
	b.query(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{"status": "TRIAGED", "addTags": []string{" Payments ", "checkout"}}}, &got)
	require.Equal(t, "TRIAGED", got.UpdateFeedback.Status)
	require.Equal(t, []string{"checkout", "payments"}, got.UpdateFeedback.Tags)

	b.query(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{"removeTags": []string{"CHECKOUT"}}}, &got)
	require.Equal(t, "TRIAGED", got.UpdateFeedback.Status, "status is left alone")
	require.Equal(t, []string{"payments"}, got.UpdateFeedback.Tags)

	b.query(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{"tags": []string{"a", "b"}, "status": "RESOLVED"}}, &got)
	require.Equal(t, []string{"a", "b"}, got.UpdateFeedback.Tags)
	require.Equal(t, "RESOLVED", got.UpdateFeedback.Status)

	_, res := b.do(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{"tags": []string{"a"}, "addTags": []string{"b"}}})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	_, res = b.do(t, b.project.Admin, update, map[string]any{"id": id, "input": map[string]any{"status": "DONE"}})
	require.NotEmpty(t, res.Errors, "unknown enum value")
}
