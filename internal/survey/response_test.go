package survey_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/ent/surveyresponse"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/survey"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// responseBundle is a Store over the package database, a project of the
// test's own with an INGEST context, and an ACTIVE survey with one question
// of each kind, in this order.
type responseBundle struct {
	client *ent.Client
	store  *survey.Store
	ctx    context.Context
	survey *ent.Survey
	q      map[surveyquestion.Kind]int // question id by kind
}

func setup(t *testing.T) *responseBundle {
	t.Helper()
	client := database.NewClient(pgtest.DB(t))
	b := &responseBundle{client: client, store: survey.NewStore(client), ctx: newProject(t, client, t.Name())}
	b.survey = b.createSurvey(t, entsurvey.StatusACTIVE)
	b.q = map[surveyquestion.Kind]int{}
	for _, q := range b.survey.QueryQuestions().AllX(b.ctx) {
		b.q[q.Kind] = q.ID
	}
	return b
}

func newProject(t *testing.T, client *ent.Client, name string) context.Context {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), client, name)
	require.NoError(t, err)
	return tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleIngest})
}

func (b *responseBundle) createSurvey(t *testing.T, status entsurvey.Status) *ent.Survey {
	t.Helper()
	sv, err := b.store.Create(b.ctx, survey.Definition{Name: "Onboarding", Status: status, Questions: []survey.Question{
		{Kind: surveyquestion.KindNPS, Prompt: "How likely are you to recommend us?", Required: true},
		{Kind: surveyquestion.KindCSAT, Prompt: "How satisfied are you?"},
		{Kind: surveyquestion.KindRATING, Prompt: "Rate the editor"},
		{Kind: surveyquestion.KindSINGLE_CHOICE, Prompt: "Your role?", Choices: []string{"Developer", "Product manager", "Designer"}},
		{Kind: surveyquestion.KindMULTI_CHOICE, Prompt: "What do you use?", Choices: []string{"Reports", "Segments", "Surveys"}},
		{Kind: surveyquestion.KindTEXT, Prompt: "Anything else?"},
	}})
	require.NoError(t, err)
	return sv
}

func ptr[T any](v T) *T { return &v }

func TestSubmitResponse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC)
	res, err := b.store.SubmitResponse(b.ctx, survey.Response{
		SurveyID: b.survey.ID,
		UserID:   " respondent ",
		// Out of question order, choices in another case and spacing.
		Answers: []survey.Answer{
			{QuestionID: b.q[surveyquestion.KindTEXT], Text: ptr("  Faster exports please  ")},
			{QuestionID: b.q[surveyquestion.KindMULTI_CHOICE], Choices: []string{"surveys", " Reports"}},
			{QuestionID: b.q[surveyquestion.KindNPS], Score: ptr(9)},
			{QuestionID: b.q[surveyquestion.KindSINGLE_CHOICE], Choices: []string{"product MANAGER"}},
			{QuestionID: b.q[surveyquestion.KindRATING], Score: ptr(1)},
			{QuestionID: b.q[surveyquestion.KindCSAT], Score: ptr(5)},
		},
		Timestamp: at,
	})
	require.NoError(t, err)

	stored, err := b.client.SurveyResponse.Query().Where(surveyresponse.ID(res.ID)).WithUser().Only(b.ctx)
	require.NoError(t, err)
	require.Equal(t, b.survey.ID, stored.SurveyID)
	require.True(t, at.Equal(stored.SubmittedAt))
	require.Equal(t, "respondent", *stored.Edges.User.ExternalID)
	require.Nil(t, stored.Edges.User.LastSeenAt, "answering a survey is not activity")
	require.Zero(t, stored.Edges.User.EventCount)
	require.Equal(t, []schematype.SurveyAnswer{
		{QuestionID: b.q[surveyquestion.KindNPS], Score: ptr(9)},
		{QuestionID: b.q[surveyquestion.KindCSAT], Score: ptr(5)},
		{QuestionID: b.q[surveyquestion.KindRATING], Score: ptr(1)},
		{QuestionID: b.q[surveyquestion.KindSINGLE_CHOICE], Choices: []string{"Product manager"}},
		{QuestionID: b.q[surveyquestion.KindMULTI_CHOICE], Choices: []string{"Surveys", "Reports"}},
		{QuestionID: b.q[surveyquestion.KindTEXT], Text: ptr("Faster exports please")},
	}, stored.Answers)
}

// A user may answer again; both responses are kept, for the same user.
func TestSubmitResponseTwice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	nps := b.q[surveyquestion.KindNPS]
	first, err := b.store.SubmitResponse(b.ctx, survey.Response{SurveyID: b.survey.ID, UserID: "u",
		Answers: []survey.Answer{{QuestionID: nps, Score: ptr(3)}}})
	require.NoError(t, err)
	second, err := b.store.SubmitResponse(b.ctx, survey.Response{SurveyID: b.survey.ID, UserID: "u",
		Answers: []survey.Answer{{QuestionID: nps, Score: ptr(10)}}})
	require.NoError(t, err)
	require.NotEqual(t, first.ID, second.ID)
	require.Equal(t, first.UserID, second.UserID)
	require.WithinDuration(t, time.Now(), second.SubmittedAt, time.Minute, "a zero timestamp is now")
	n, err := b.client.SurveyResponse.Query().Where(surveyresponse.SurveyID(b.survey.ID)).Count(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

// The target segment says whom to ask, not who may answer.
func TestSubmitResponseOutsideTargetSegment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg, err := b.client.Segment.Create().SetName("pros").
		SetRule([]byte(`{"trait":{"key":"plan","op":"EQ","value":"pro"}}`)).Save(b.ctx)
	require.NoError(t, err)
	sv, err := b.store.Create(b.ctx, survey.Definition{Name: "Pros only", Status: entsurvey.StatusACTIVE,
		TargetSegmentID: &seg.ID, Questions: []survey.Question{{Kind: surveyquestion.KindRATING, Prompt: "Rate us"}}})
	require.NoError(t, err)
	q := sv.QueryQuestions().OnlyX(b.ctx)
	_, err = b.store.SubmitResponse(b.ctx, survey.Response{SurveyID: sv.ID, UserID: "free-user",
		Answers: []survey.Answer{{QuestionID: q.ID, Score: ptr(4)}}})
	require.NoError(t, err)
}

func TestSubmitResponseNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := newProject(t, b.client, t.Name()+" other")
	for _, ctx := range []context.Context{other, b.ctx} {
		id := b.survey.ID
		if ctx == b.ctx {
			id = b.survey.ID + 1_000_000
		}
		_, err := b.store.SubmitResponse(ctx, survey.Response{SurveyID: id, UserID: "u",
			Answers: []survey.Answer{{QuestionID: b.q[surveyquestion.KindNPS], Score: ptr(9)}}})
		require.ErrorIs(t, err, invalid.ErrNotFound)
		var inputErr *invalid.Error
		require.ErrorAs(t, err, &inputErr)
		require.Equal(t, "input.surveyId", inputErr.Field)
		require.Equal(t, fmt.Sprintf("survey %d not found", id), inputErr.Message)
	}
	n, err := b.client.User.Query().Count(other)
	require.NoError(t, err)
	require.Zero(t, n, "no user is created for a refused response")
}

func TestSubmitResponseValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	closed := b.createSurvey(t, entsurvey.StatusCLOSED)
	draft := b.createSurvey(t, entsurvey.StatusDRAFT)
	nps, csat, rating := b.q[surveyquestion.KindNPS], b.q[surveyquestion.KindCSAT], b.q[surveyquestion.KindRATING]
	single, multi, text := b.q[surveyquestion.KindSINGLE_CHOICE], b.q[surveyquestion.KindMULTI_CHOICE], b.q[surveyquestion.KindTEXT]
	foreign := closed.QueryQuestions().FirstIDX(b.ctx)
	ok := survey.Answer{QuestionID: nps, Score: ptr(8)}
	tests := []struct {
		name      string
		surveyID  int
		userID    string
		answers   []survey.Answer
		timestamp time.Time
		wantField string
		wantMsg   string
	}{
		{"closed", closed.ID, "u", []survey.Answer{ok}, time.Time{}, "input.surveyId",
			fmt.Sprintf("survey %d is CLOSED; only ACTIVE surveys take responses", closed.ID)},
		{"draft", draft.ID, "u", []survey.Answer{ok}, time.Time{}, "input.surveyId",
			fmt.Sprintf("survey %d is DRAFT; only ACTIVE surveys take responses", draft.ID)},
		{"no user", 0, " ", []survey.Answer{ok}, time.Time{}, "input.userId", "is required"},
		{"long user", 0, strings.Repeat("u", 513), []survey.Answer{ok}, time.Time{}, "input.userId", "at most 512 bytes"},
		{"future", 0, "u", []survey.Answer{ok}, time.Now().Add(2 * time.Hour), "input.timestamp", "in the future"},
		{"no answers", 0, "u", nil, time.Time{}, "input.answers", "at least one answer"},
		{"unknown question", 0, "u", []survey.Answer{ok, {QuestionID: 1, Score: ptr(1)}}, time.Time{},
			"input.answers[1].questionId", "question 1 is not a question of survey"},
		{"question of another survey", 0, "u", []survey.Answer{ok, {QuestionID: foreign, Score: ptr(1)}}, time.Time{},
			"input.answers[1].questionId", fmt.Sprintf("question %d is not a question of survey", foreign)},
		{"answered twice", 0, "u", []survey.Answer{ok, {QuestionID: csat, Score: ptr(3)}, {QuestionID: nps, Score: ptr(2)}}, time.Time{},
			"input.answers[2].questionId", fmt.Sprintf("question %d is already answered by input.answers[0]", nps)},
		{"required missing", 0, "u", []survey.Answer{{QuestionID: csat, Score: ptr(3)}}, time.Time{},
			"input.answers", fmt.Sprintf("question %d (\"How likely are you to recommend us?\") is required", nps)},
		{"nps 11", 0, "u", []survey.Answer{{QuestionID: nps, Score: ptr(11)}}, time.Time{}, "input.answers[0].score", "NPS scores are 0 to 10, got 11"},
		{"nps -1", 0, "u", []survey.Answer{{QuestionID: nps, Score: ptr(-1)}}, time.Time{}, "input.answers[0].score", "0 to 10, got -1"},
		{"csat 0", 0, "u", []survey.Answer{ok, {QuestionID: csat, Score: ptr(0)}}, time.Time{}, "input.answers[1].score", "CSAT scores are 1 to 5, got 0"},
		{"rating 6", 0, "u", []survey.Answer{ok, {QuestionID: rating, Score: ptr(6)}}, time.Time{}, "input.answers[1].score", "RATING scores are 1 to 5, got 6"},
		{"score missing", 0, "u", []survey.Answer{{QuestionID: nps}}, time.Time{}, "input.answers[0].score", "NPS questions need a score"},
		{"text on a score question", 0, "u", []survey.Answer{{QuestionID: nps, Score: ptr(9), Text: ptr("why")}}, time.Time{},
			"input.answers[0].text", "NPS questions take score only"},
		{"score on a choice question", 0, "u", []survey.Answer{ok, {QuestionID: single, Score: ptr(1), Choices: []string{"Designer"}}}, time.Time{},
			"input.answers[1].score", "SINGLE_CHOICE questions take choices only"},
		{"no choice", 0, "u", []survey.Answer{ok, {QuestionID: single, Choices: []string{}}}, time.Time{},
			"input.answers[1].choices", "SINGLE_CHOICE questions need a choice"},
		{"two single choices", 0, "u", []survey.Answer{ok, {QuestionID: single, Choices: []string{"Designer", "Developer"}}}, time.Time{},
			"input.answers[1].choices", "exactly one choice, got 2"},
		{"unknown choice", 0, "u", []survey.Answer{ok, {QuestionID: single, Choices: []string{"CEO"}}}, time.Time{},
			"input.answers[1].choices[0]", `"CEO" is not a choice of question`},
		{"no multi choice", 0, "u", []survey.Answer{ok, {QuestionID: multi}}, time.Time{},
			"input.answers[1].choices", "MULTI_CHOICE questions need a choice"},
		{"repeated multi choice", 0, "u", []survey.Answer{ok, {QuestionID: multi, Choices: []string{"Reports", "reports"}}}, time.Time{},
			"input.answers[1].choices[1]", `"reports" is chosen twice`},
		{"unknown multi choice", 0, "u", []survey.Answer{ok, {QuestionID: multi, Choices: []string{"Reports", "Billing"}}}, time.Time{},
			"input.answers[1].choices[1]", `"Billing" is not a choice`},
		{"empty text", 0, "u", []survey.Answer{ok, {QuestionID: text, Text: ptr("  ")}}, time.Time{},
			"input.answers[1].text", "TEXT questions need a non-empty text"},
		{"no text", 0, "u", []survey.Answer{ok, {QuestionID: text}}, time.Time{}, "input.answers[1].text", "TEXT questions need a non-empty text"},
		{"long text", 0, "u", []survey.Answer{ok, {QuestionID: text, Text: ptr(strings.Repeat("ü", 10_001))}}, time.Time{},
			"input.answers[1].text", "at most 10000 characters, got 10001"},
		{"blank fields of other kinds are not given", 0, "u", []survey.Answer{{QuestionID: nps, Choices: []string{}, Text: ptr(" ")}}, time.Time{},
			"input.answers[0].score", "NPS questions need a score"},
		{"choices on text", 0, "u", []survey.Answer{ok, {QuestionID: text, Text: ptr("hi"), Choices: []string{"Reports"}}}, time.Time{},
			"input.answers[1].choices", "TEXT questions take text only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			surveyID := tt.surveyID
			if surveyID == 0 {
				surveyID = b.survey.ID
			}
			_, err := b.store.SubmitResponse(b.ctx, survey.Response{SurveyID: surveyID, UserID: tt.userID,
				Answers: tt.answers, Timestamp: tt.timestamp})
			var inputErr *invalid.Error
			require.ErrorAs(t, err, &inputErr, "error %v", err)
			require.NotErrorIs(t, err, invalid.ErrNotFound)
			require.Equal(t, tt.wantField, inputErr.Field)
			require.Contains(t, inputErr.Message, tt.wantMsg)
		})
	}
	t.Cleanup(func() {
		n, err := b.client.SurveyResponse.Query().Count(b.ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		users, err := b.client.User.Query().Count(b.ctx)
		require.NoError(t, err)
		require.Zero(t, users)
	})
}

func TestSubmitResponseEdgeValues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	long := strings.Repeat("ü", 10_000)
	res, err := b.store.SubmitResponse(b.ctx, survey.Response{SurveyID: b.survey.ID, UserID: strings.Repeat("u", 512),
		Timestamp: time.Now().Add(30 * time.Minute),
		Answers: []survey.Answer{
			{QuestionID: b.q[surveyquestion.KindNPS], Score: ptr(0)},
			{QuestionID: b.q[surveyquestion.KindCSAT], Score: ptr(1)},
			{QuestionID: b.q[surveyquestion.KindRATING], Score: ptr(5)},
			{QuestionID: b.q[surveyquestion.KindMULTI_CHOICE], Choices: []string{"Reports", "Segments", "Surveys"}},
			{QuestionID: b.q[surveyquestion.KindTEXT], Text: &long},
		}})
	require.NoError(t, err)
	require.Len(t, res.Answers, 5)
	require.Equal(t, 0, *res.Answers[0].Score)
	require.Equal(t, []string{"Reports", "Segments", "Surveys"}, res.Answers[3].Choices)
}
