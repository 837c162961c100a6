package graph_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	submitFeedback = `mutation($input: FeedbackInput!) { submitFeedback(input: $input) { id sentiment } }`
	submitResponse = `mutation($input: SurveyResponseInput!) { submitSurveyResponse(input: $input) { id } }`
)

type submitFeedbackOut struct {
	SubmitFeedback struct {
		ID        string
		Sentiment *string
	}
}

// feedbackNode is a feedback as a READ key sees it.
type feedbackNode struct {
	ID        string
	Kind      string
	Rating    *int
	NpsScore  *int
	Text      string
	Channel   string
	Tags      []string
	Sentiment string
	Status    string
	Timestamp time.Time
	User      struct {
		ExternalID string `json:"externalId"`
		EventCount int
		LastSeenAt *time.Time
	}
}

func (b *testBundle) feedbacks(t *testing.T) []feedbackNode {
	t.Helper()
	var out struct {
		Feedbacks struct {
			Edges []struct{ Node feedbackNode }
		}
	}
	b.query(t, b.project.Read, `{ feedbacks(first: 10, orderBy: {field: TIMESTAMP, direction: ASC}) { edges { node {
	  id kind rating npsScore text channel tags sentiment status timestamp user { externalId eventCount lastSeenAt } } } } }`, nil, &out)
	nodes := make([]feedbackNode, len(out.Feedbacks.Edges))
	for i, e := range out.Feedbacks.Edges {
		nodes[i] = e.Node
	}
	return nodes
}

func TestSubmitFeedback(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var first submitFeedbackOut
	b.query(t, b.project.Ingest, submitFeedback, map[string]any{"input": map[string]any{
		"userId": "new-user", "kind": "PRAISE", "rating": 4, "text": "Not bad at all, the new editor is fast",
		"channel": "widget", "tags": []string{" Editor ", "editor", "speed"}, "timestamp": at.Format(time.RFC3339),
	}}, &first)
	require.NotEmpty(t, first.SubmitFeedback.ID)
	require.Equal(t, "POSITIVE", *first.SubmitFeedback.Sentiment)

	// Only an NPS score and the default kind.
	var second submitFeedbackOut
	b.query(t, b.project.Ingest, submitFeedback, map[string]any{"input": map[string]any{
		"userId": "new-user", "npsScore": 3}}, &second)
	require.Equal(t, "NEGATIVE", *second.SubmitFeedback.Sentiment)

	got := b.feedbacks(t)
	require.Len(t, got, 2)
	require.Equal(t, first.SubmitFeedback.ID, got[0].ID)
	require.Equal(t, "PRAISE", got[0].Kind)
	require.Equal(t, 4, *got[0].Rating)
	require.Nil(t, got[0].NpsScore)
	require.Equal(t, "Not bad at all, the new editor is fast", got[0].Text)
	require.Equal(t, "widget", got[0].Channel)
	require.Equal(t, []string{"editor", "speed"}, got[0].Tags)
	require.Equal(t, "POSITIVE", got[0].Sentiment)
	require.Equal(t, "NEW", got[0].Status)
	require.True(t, at.Equal(got[0].Timestamp), "timestamp %s", got[0].Timestamp)

	require.Equal(t, second.SubmitFeedback.ID, got[1].ID)
	require.Equal(t, "OTHER", got[1].Kind)
	require.Equal(t, 3, *got[1].NpsScore)
	require.Empty(t, got[1].Text)
	require.Equal(t, "NEGATIVE", got[1].Sentiment)
	require.WithinDuration(t, time.Now(), got[1].Timestamp, time.Minute)

	// Both belong to the one user the first call created, who is not active.
	for _, fb := range got {
		require.Equal(t, "new-user", fb.User.ExternalID)
		require.Zero(t, fb.User.EventCount)
		require.Nil(t, fb.User.LastSeenAt)
	}
	var users struct{ Users struct{ TotalCount int } }
	b.query(t, b.project.Read, `{ users { totalCount } }`, nil, &users)
	require.Equal(t, 1, users.Users.TotalCount)
}

// An INGEST key writes but never reads: not through queries, not through
// what the mutation returns.
func TestSubmitFeedbackIngestCannotRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var out submitFeedbackOut
	b.query(t, b.project.Ingest, submitFeedback, map[string]any{"input": map[string]any{"userId": "u", "text": "hello"}}, &out)

	_, res := b.do(t, b.project.Ingest, `{ feedbacks(first: 1) { edges { node { id text } } } }`, nil)
	require.Equal(t, "FORBIDDEN", res.code())
	_, res = b.do(t, b.project.Ingest, `query($id: ID!) { node(id: $id) { id ... on Feedback { text } } }`, map[string]any{"id": out.SubmitFeedback.ID})
	require.Equal(t, "FORBIDDEN", res.code())
	status, res := b.do(t, b.project.Ingest, `mutation { submitFeedback(input: {userId: "u", text: "x"}) { id user { events { totalCount } } } }`, nil)
	require.Equal(t, http.StatusOK, status, "application/json answers 200 even for an invalid document")
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", res.code(), "the payload has no way to the user")
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", res.code())

	_, res = b.do(t, "", submitFeedback, map[string]any{"input": map[string]any{"userId": "u", "text": "hello"}})
	require.Equal(t, "UNAUTHENTICATED", res.code())
}

func TestSubmitFeedbackValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name      string
		input     map[string]any
		wantField string
		wantMsg   string
	}{
		{"blank user", map[string]any{"userId": " ", "text": "hi"}, "input.userId", "is required"},
		{"long user", map[string]any{"userId": strings.Repeat("u", 513), "text": "hi"}, "input.userId", "at most 512 bytes"},
		{"rating", map[string]any{"userId": "u", "rating": 6}, "input.rating", "must be 1 to 5, got 6"},
		{"nps", map[string]any{"userId": "u", "npsScore": -1}, "input.npsScore", "must be 0 to 10, got -1"},
		{"nothing said", map[string]any{"userId": "u", "text": "  ", "channel": "web"}, "input.text", "needs text, a rating or an npsScore"},
		{"long text", map[string]any{"userId": "u", "text": strings.Repeat("x", 10_001)}, "input.text", "at most 10000 characters"},
		{"long channel", map[string]any{"userId": "u", "text": "hi", "channel": strings.Repeat("c", 201)}, "input.channel", "at most 200 bytes"},
		{"blank tag", map[string]any{"userId": "u", "text": "hi", "tags": []string{""}}, "input.tags", "must not be empty"},
		{"future", map[string]any{"userId": "u", "text": "hi", "timestamp": time.Now().Add(3 * time.Hour).Format(time.RFC3339)}, "input.timestamp", "in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, res := b.do(t, b.project.Ingest, submitFeedback, map[string]any{"input": tt.input})
			require.Equal(t, "BAD_USER_INPUT", res.code(), "errors: %+v", res.Errors)
			require.Equal(t, tt.wantField, res.Errors[0].Extensions["field"])
			require.Contains(t, res.Errors[0].Message, tt.wantMsg)
		})
	}
	t.Cleanup(func() {
		n, err := b.client.Feedback.Query().Count(b.project.ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		users, err := b.client.User.Query().Count(b.project.ctx)
		require.NoError(t, err)
		require.Zero(t, users)
	})
}

// surveyFixture is an ACTIVE survey with a required NPS question, a single
// choice question and a text question, created through the API.
type surveyFixture struct {
	ID                string
	NPS, Choice, Text string
}

func createSurveyFixture(t *testing.T, b *testBundle, p *testProject, status string) surveyFixture {
	t.Helper()
	var out struct{ CreateSurvey surveyOut }
	b.query(t, p.Admin, createSurvey, map[string]any{"input": map[string]any{
		"name": "Onboarding", "status": status,
		"questions": []any{
			map[string]any{"kind": "NPS", "prompt": "How likely are you to recommend us?", "required": true},
			map[string]any{"kind": "SINGLE_CHOICE", "prompt": "Your role?", "choices": []string{"Developer", "Designer"}},
			map[string]any{"kind": "TEXT", "prompt": "Anything else?"},
		},
	}}, &out)
	q := out.CreateSurvey.Questions
	return surveyFixture{ID: out.CreateSurvey.ID, NPS: q[0].ID, Choice: q[1].ID, Text: q[2].ID}
}

func TestSubmitSurveyResponse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sv := createSurveyFixture(t, b, b.project, "ACTIVE")
	var out struct{ SubmitSurveyResponse struct{ ID string } }
	b.query(t, b.project.Ingest, submitResponse, map[string]any{"input": map[string]any{
		"surveyId": sv.ID, "userId": "respondent",
		"answers": []any{
			map[string]any{"questionId": sv.Text, "text": " Love the editor "},
			map[string]any{"questionId": sv.Choice, "choices": []string{"designer"}},
			map[string]any{"questionId": sv.NPS, "score": 9},
		},
	}}, &out)
	require.NotEmpty(t, out.SubmitSurveyResponse.ID)

	var read struct {
		Node struct {
			Answers []struct {
				QuestionID string `json:"questionId"`
				Score      *int
				Choices    []string
				Text       *string
			}
			Survey struct{ ID string }
			User   struct {
				ExternalID string `json:"externalId"`
			}
		}
	}
	b.query(t, b.project.Read, `query($id: ID!) { node(id: $id) { ... on SurveyResponse {
	  answers { questionId score choices text } survey { id } user { externalId } } } }`,
		map[string]any{"id": out.SubmitSurveyResponse.ID}, &read)
	require.Equal(t, sv.ID, read.Node.Survey.ID)
	require.Equal(t, "respondent", read.Node.User.ExternalID)
	require.Len(t, read.Node.Answers, 3)
	require.Equal(t, sv.NPS, read.Node.Answers[0].QuestionID, "answers are stored in question order")
	require.Equal(t, 9, *read.Node.Answers[0].Score)
	require.Equal(t, sv.Choice, read.Node.Answers[1].QuestionID)
	require.Equal(t, []string{"Designer"}, read.Node.Answers[1].Choices, "stored as the question spells it")
	require.Equal(t, sv.Text, read.Node.Answers[2].QuestionID)
	require.Equal(t, "Love the editor", *read.Node.Answers[2].Text)

	// Answering again is accepted: both responses are kept.
	b.query(t, b.project.Ingest, submitResponse, map[string]any{"input": map[string]any{
		"surveyId": sv.ID, "userId": "respondent", "answers": []any{map[string]any{"questionId": sv.NPS, "score": 10}},
	}}, nil)
	var responses struct {
		Node struct{ Responses struct{ TotalCount int } }
	}
	b.query(t, b.project.Read, `query($id: ID!) { node(id: $id) { ... on Survey { responses { totalCount } } } }`,
		map[string]any{"id": sv.ID}, &responses)
	require.Equal(t, 2, responses.Node.Responses.TotalCount)

	_, res := b.do(t, b.project.Ingest, `{ surveys(first: 1) { totalCount } }`, nil)
	require.Equal(t, "FORBIDDEN", res.code(), "an INGEST key cannot read surveys")
}

func TestSubmitSurveyResponseValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sv := createSurveyFixture(t, b, b.project, "ACTIVE")
	closed := createSurveyFixture(t, b, b.project, "CLOSED")
	nps := map[string]any{"questionId": sv.NPS, "score": 8}
	tests := []struct {
		name      string
		surveyID  string
		answers   []any
		wantField string
		wantMsg   string
	}{
		{"closed survey", closed.ID, []any{map[string]any{"questionId": closed.NPS, "score": 8}}, "input.surveyId",
			fmt.Sprintf("survey %s is CLOSED; only ACTIVE surveys take responses", closed.ID)},
		{"no answers", sv.ID, []any{}, "input.answers", "at least one answer"},
		{"unknown question", sv.ID, []any{nps, map[string]any{"questionId": unknownID(t, "survey_questions"), "score": 1}},
			"input.answers[1].questionId", "question " + unknownID(t, "survey_questions") + " is not a question of survey " + sv.ID},
		{"question of another survey", sv.ID, []any{nps, map[string]any{"questionId": closed.Text, "text": "hi"}},
			"input.answers[1].questionId", "question " + closed.Text + " is not a question of survey " + sv.ID},
		{"answered twice", sv.ID, []any{nps, nps}, "input.answers[1].questionId", "already answered by input.answers[0]"},
		{"required missing", sv.ID, []any{map[string]any{"questionId": sv.Text, "text": "hi"}}, "input.answers",
			"question " + sv.NPS + ` ("How likely are you to recommend us?") is required`},
		{"nps out of range", sv.ID, []any{map[string]any{"questionId": sv.NPS, "score": 11}}, "input.answers[0].score", "NPS scores are 0 to 10, got 11"},
		{"score missing", sv.ID, []any{map[string]any{"questionId": sv.NPS}}, "input.answers[0].score", "NPS questions need a score"},
		{"wrong field", sv.ID, []any{nps, map[string]any{"questionId": sv.Choice, "text": "Designer"}},
			"input.answers[1].text", "SINGLE_CHOICE questions take choices only"},
		{"two choices", sv.ID, []any{nps, map[string]any{"questionId": sv.Choice, "choices": []string{"Developer", "Designer"}}},
			"input.answers[1].choices", "exactly one choice, got 2"},
		{"unknown choice", sv.ID, []any{nps, map[string]any{"questionId": sv.Choice, "choices": []string{"CEO"}}},
			"input.answers[1].choices[0]", `"CEO" is not a choice`},
		{"blank text", sv.ID, []any{nps, map[string]any{"questionId": sv.Text, "text": " "}},
			"input.answers[1].text", "TEXT questions need a non-empty text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, res := b.do(t, b.project.Ingest, submitResponse, map[string]any{"input": map[string]any{
				"surveyId": tt.surveyID, "userId": "u", "answers": tt.answers}})
			require.Equal(t, "BAD_USER_INPUT", res.code(), "errors: %+v", res.Errors)
			require.Equal(t, tt.wantField, res.Errors[0].Extensions["field"])
			require.Contains(t, res.Errors[0].Message, tt.wantMsg)
		})
	}
	t.Run("blank user", func(t *testing.T) {
		t.Parallel()
		_, res := b.do(t, b.project.Ingest, submitResponse, map[string]any{"input": map[string]any{
			"surveyId": sv.ID, "userId": "", "answers": []any{nps}}})
		require.Equal(t, "BAD_USER_INPUT", res.code())
		require.Equal(t, "input.userId", res.Errors[0].Extensions["field"])
	})
	t.Cleanup(func() {
		n, err := b.client.SurveyResponse.Query().Count(b.project.ctx)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// A survey of another project, or no survey at all, is NOT_FOUND: whether
// the id exists elsewhere is never revealed.
func TestSubmitSurveyResponseNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.newProject(t, t.Name()+" other")
	foreign := createSurveyFixture(t, b, other, "ACTIVE")
	for _, id := range []string{foreign.ID, unknownID(t, "surveys")} {
		_, res := b.do(t, b.project.Ingest, submitResponse, map[string]any{"input": map[string]any{
			"surveyId": id, "userId": "u", "answers": []any{map[string]any{"questionId": foreign.NPS, "score": 9}}}})
		require.Equal(t, "NOT_FOUND", res.code(), "survey %s: %+v", id, res.Errors)
		require.Equal(t, "survey "+id+" not found", res.Errors[0].Message)
	}
	n, err := b.client.SurveyResponse.Query().Count(other.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	users, err := b.client.User.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Zero(t, users)
}
