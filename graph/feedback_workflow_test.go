package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/apikey"
	"github.com/pulse-analytics/pulse/ent/feedbackchange"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

const workflowUpdate = `mutation($id: ID!, $input: UpdateFeedbackInput!) {
  updateFeedback(id: $id, input: $input) { id status tags assignee }
}`

const workflowHistory = `query($id: ID!) { node(id: $id) { ... on Feedback {
  history(first: 20) { totalCount edges { node { kind oldValue newValue actorKeyId actorKeyPrefix } } }
  notes: history(first: 20, where: {kind: NOTE}) { edges { node { newValue } } }
} } }`

// adminKey returns the id and prefix of the project's ADMIN key.
func adminKey(t *testing.T, b *testBundle, p *testProject) (string, string) {
	t.Helper()
	key, err := b.client.APIKey.Query().Where(apikey.RoleEQ(apikey.RoleADMIN)).Only(p.ctx)
	require.NoError(t, err)
	return gid(key.ID), key.Prefix
}

func TestFeedbackWorkflowHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "w", 1)
	id := gid(s.Feedback[0].ID)
	b.query(t, b.project.Admin, workflowUpdate, map[string]any{"id": id, "input": map[string]any{
		"status": "IN_PROGRESS", "addTags": []string{"Payments"}, "assignee": "ana@example.com"}}, nil)
	var got json.RawMessage
	b.query(t, b.project.Admin, workflowUpdate, map[string]any{"id": id, "input": map[string]any{
		"note": "Reproduced on iOS 18.", "status": "IN_PROGRESS"}}, &got)
	require.JSONEq(t, `{"updateFeedback":{"id":"`+id+`","status":"IN_PROGRESS","tags":["checkout","payments"],"assignee":"ana@example.com"}}`, string(got))
	b.query(t, b.project.Admin, workflowUpdate, map[string]any{"id": id, "input": map[string]any{"clearAssignee": true}}, &got)
	require.JSONEq(t, `{"updateFeedback":{"id":"`+id+`","status":"IN_PROGRESS","tags":["checkout","payments"],"assignee":null}}`, string(got))

	keyID, prefix := adminKey(t, b, b.project)
	actor := `"actorKeyId":"` + keyID + `","actorKeyPrefix":"` + prefix + `"`
	b.query(t, b.project.Read, workflowHistory, map[string]any{"id": id}, &got)
	require.JSONEq(t, `{"node":{
	  "history":{"totalCount":5,"edges":[
	    {"node":{"kind":"STATUS","oldValue":"NEW","newValue":"IN_PROGRESS",`+actor+`}},
	    {"node":{"kind":"TAGS","oldValue":["checkout"],"newValue":["checkout","payments"],`+actor+`}},
	    {"node":{"kind":"ASSIGNEE","oldValue":null,"newValue":"ana@example.com",`+actor+`}},
	    {"node":{"kind":"NOTE","oldValue":null,"newValue":"Reproduced on iOS 18.",`+actor+`}},
	    {"node":{"kind":"ASSIGNEE","oldValue":"ana@example.com","newValue":null,`+actor+`}}]},
	  "notes":{"edges":[{"node":{"newValue":"Reproduced on iOS 18."}}]}}}`, string(got))

	// The README's query.
	b.query(t, b.project.Read, `{
	  feedbacks(first: 20, where: {assignee: "ana@example.com", statusNEQ: CLOSED}) {
	    edges { node { id kind text status tags
	      history(first: 50) { edges { node { kind oldValue newValue actorKeyPrefix createdAt } } }
	      notes: history(first: 50, where: {kind: NOTE}) { edges { node { newValue createdAt } } } } }
	  }
	}`, nil, nil)

	// The assignee is a filter and an order of feedbacks.
	b.query(t, b.project.Admin, workflowUpdate, map[string]any{"id": id, "input": map[string]any{"assignee": "bo"}}, nil)
	var list struct{ Feedbacks struct{ TotalCount int } }
	b.query(t, b.project.Read, `{ feedbacks(where: {assignee: "bo"}, orderBy: {field: ASSIGNEE}) { totalCount } }`, nil, &list)
	require.Equal(t, 1, list.Feedbacks.TotalCount)
}

func TestFeedbackWorkflowValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "v", 1)
	id := gid(s.Feedback[0].ID)
	tests := []struct {
		input map[string]any
		field string
	}{
		{map[string]any{"assignee": " "}, "input.assignee"},
		{map[string]any{"assignee": "ana", "clearAssignee": true}, "input.clearAssignee"},
		{map[string]any{"note": ""}, "input.note"},
	}
	for _, tt := range tests {
		_, res := b.do(t, b.project.Admin, workflowUpdate, map[string]any{"id": id, "input": tt.input})
		require.Equal(t, "BAD_USER_INPUT", res.code(), "input %v", tt.input)
		require.Equal(t, tt.field, res.Errors[0].Extensions["field"])
	}
	n, err := s.Feedback[0].QueryHistory().Count(b.project.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestFeedbackWorkflowRolesAndTenants: only ADMIN keys change feedback;
// READ keys read the history; nobody reaches another project's feedback or
// history, and a refused call writes nothing.
func TestFeedbackWorkflowRolesAndTenants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := seed(t, b, b.project, "a", 1)
	other := b.newProject(t, t.Name()+" B")
	theirs := seed(t, b, other, "b", 1)
	note := func(id int) map[string]any {
		return map[string]any{"id": gid(id), "input": map[string]any{"note": "hello", "status": "CLOSED"}}
	}
	for _, key := range []string{b.project.Ingest, b.project.Read} {
		_, res := b.do(t, key, workflowUpdate, note(a.Feedback[0].ID))
		require.Equal(t, "FORBIDDEN", res.code())
	}
	_, res := b.do(t, b.project.Admin, workflowUpdate, note(theirs.Feedback[0].ID))
	require.Equal(t, "NOT_FOUND", res.code())
	n, err := b.client.FeedbackChange.Query().Where(feedbackchange.FeedbackIDIn(a.Feedback[0].ID, theirs.Feedback[0].ID)).
		Count(tenant.Bypass(context.Background()))
	require.NoError(t, err)
	require.Zero(t, n, "no history was written in either project")

	b.query(t, other.Admin, workflowUpdate, note(theirs.Feedback[0].ID), nil)
	changeID, err := theirs.Feedback[0].QueryHistory().FirstID(other.ctx)
	require.NoError(t, err)
	// B's history is invisible to A: through B's feedback id, and by its own id.
	var got json.RawMessage
	status, res := b.do(t, b.project.Admin, workflowHistory, map[string]any{"id": gid(theirs.Feedback[0].ID)})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "NOT_FOUND", res.code())
	_, res = b.do(t, b.project.Read, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": gid(changeID)})
	require.Equal(t, "NOT_FOUND", res.code())
	b.query(t, b.project.Read, `{ feedbacks(first: 10) { edges { node { history { totalCount } } } } }`, nil, &got)
	require.JSONEq(t, `{"feedbacks":{"edges":[{"node":{"history":{"totalCount":0}}}]}}`, string(got))
	// INGEST keys never read feedback, so never its history.
	_, res = b.do(t, b.project.Ingest, workflowHistory, map[string]any{"id": gid(a.Feedback[0].ID)})
	require.Equal(t, "FORBIDDEN", res.code())
}

const eligibleQuery = `query($user: String!) {
  eligibleSurveys(userId: $user) { id name questions { kind prompt choices required } }
}`

func TestEligibleSurveysForSDKs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	alice := b.client.User.Create().SetExternalID("alice").SaveX(p.ctx)
	engaged := b.client.Segment.Create().SetName("engaged").SetKind(entsegment.KindSTATIC).SaveX(p.ctx)
	b.client.SegmentMember.Create().SetSegmentID(engaged.ID).SetUserID(alice.ID).ExecX(p.ctx)
	create := func(name string, status entsurvey.Status, target *int) int {
		var out struct{ CreateSurvey struct{ ID string } }
		input := map[string]any{"name": name, "status": string(status), "questions": []any{
			map[string]any{"kind": "NPS", "prompt": "How likely?", "required": true},
			map[string]any{"kind": "SINGLE_CHOICE", "prompt": "Role?", "choices": []string{"Dev", "PM"}},
		}}
		if target != nil {
			input["targetSegmentId"] = gid(*target)
		}
		b.query(t, p.Admin, `mutation($input: CreateSurveyInput!) { createSurvey(input: $input) { id } }`,
			map[string]any{"input": input}, &out)
		var id int
		_, err := fmt.Sscan(out.CreateSurvey.ID, &id)
		require.NoError(t, err)
		return id
	}
	targeted := create("engaged users", entsurvey.StatusACTIVE, &engaged.ID)
	answered := create("answered", entsurvey.StatusACTIVE, nil)
	create("inactive", entsurvey.StatusDRAFT, nil)
	create("closed", entsurvey.StatusCLOSED, &engaged.ID)
	question, err := b.client.SurveyQuestion.Query().Where(surveyquestion.SurveyID(answered), surveyquestion.Position(0)).OnlyID(p.ctx)
	require.NoError(t, err)
	b.query(t, p.Ingest, `mutation($input: SurveyResponseInput!) { submitSurveyResponse(input: $input) { id } }`,
		map[string]any{"input": map[string]any{"surveyId": gid(answered), "userId": "alice",
			"answers": []any{map[string]any{"questionId": gid(question), "score": 10}}}}, nil)
	// Another project with an ACTIVE survey for everyone.
	other := b.newProject(t, t.Name()+" B")
	b.client.Survey.Create().SetName("theirs").SetStatus(entsurvey.StatusACTIVE).SaveX(other.ctx)

	questions := `[{"kind":"NPS","prompt":"How likely?","choices":null,"required":true},
	  {"kind":"SINGLE_CHOICE","prompt":"Role?","choices":["Dev","PM"],"required":false}]`
	var got json.RawMessage
	b.query(t, p.Ingest, eligibleQuery, map[string]any{"user": "alice"}, &got)
	require.JSONEq(t, `{"eligibleSurveys":[{"id":"`+gid(targeted)+`","name":"engaged users","questions":`+questions+`}]}`, string(got))
	b.query(t, p.Ingest, eligibleQuery, map[string]any{"user": "bob"}, &got)
	require.JSONEq(t, `{"eligibleSurveys":[{"id":"`+gid(answered)+`","name":"answered","questions":`+questions+`}]}`, string(got))

	// Any key of the project may ask; no key may not; bad input names the field.
	b.query(t, p.Read, eligibleQuery, map[string]any{"user": "alice"}, nil)
	_, res := b.do(t, "", eligibleQuery, map[string]any{"user": "alice"})
	require.Equal(t, "UNAUTHENTICATED", res.code())
	_, res = b.do(t, p.Ingest, eligibleQuery, map[string]any{"user": " "})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, "userId", res.Errors[0].Extensions["field"])
	// The payload leads nowhere an INGEST key may not read.
	_, res = b.do(t, p.Ingest, `{ eligibleSurveys(userId: "alice") { id targetSegment { id } } }`, nil)
	require.NotEmpty(t, res.Errors)
	require.Contains(t, res.Errors[0].Message, `Cannot query field "targetSegment"`)
}
