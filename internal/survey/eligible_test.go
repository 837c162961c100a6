package survey_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/survey"
)

// eligibleBundle is a project with users alice (a member of segment
// "engaged") and bob (a member of nothing).
type eligibleBundle struct {
	client   *ent.Client
	store    *survey.Store
	ctx      context.Context
	engaged  int // segment of alice
	archived int // an archived segment alice is still recorded in
}

func setupEligible(t *testing.T) *eligibleBundle {
	t.Helper()
	client := database.NewClient(pgtest.DB(t))
	b := &eligibleBundle{client: client, store: survey.NewStore(client), ctx: newProject(t, client, t.Name())}
	alice := client.User.Create().SetExternalID("alice").SaveX(b.ctx)
	client.User.Create().SetExternalID("bob").SaveX(b.ctx)
	b.engaged = b.staticSegment(t, "engaged", alice.ID)
	b.archived = b.staticSegment(t, "old", alice.ID)
	client.Segment.UpdateOneID(b.archived).SetArchivedAt(time.Now()).ExecX(b.ctx)
	return b
}

func (b *eligibleBundle) staticSegment(t *testing.T, name string, members ...int) int {
	t.Helper()
	seg := b.client.Segment.Create().SetName(name).SetKind(entsegment.KindSTATIC).SaveX(b.ctx)
	for _, id := range members {
		b.client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(id).ExecX(b.ctx)
	}
	return seg.ID
}

func (b *eligibleBundle) survey(t *testing.T, name string, status entsurvey.Status, target *int) int {
	t.Helper()
	sv, err := b.store.Create(b.ctx, survey.Definition{Name: name, Status: status, TargetSegmentID: target,
		Questions: []survey.Question{
			{Kind: surveyquestion.KindNPS, Prompt: "How likely are you to recommend us?", Required: true},
			{Kind: surveyquestion.KindSINGLE_CHOICE, Prompt: "Your role?", Choices: []string{"Developer", "Designer"}},
		}})
	require.NoError(t, err)
	return sv.ID
}

func (b *eligibleBundle) eligible(t *testing.T, ctx context.Context, userID string) []string {
	t.Helper()
	surveys, err := b.store.Eligible(ctx, userID)
	require.NoError(t, err)
	names := []string{}
	for _, sv := range surveys {
		names = append(names, sv.Name)
		require.Len(t, sv.Edges.Questions, 2, "questions are loaded")
		require.Equal(t, surveyquestion.KindNPS, sv.Edges.Questions[0].Kind, "in order")
		require.Equal(t, []string{"Developer", "Designer"}, sv.Edges.Questions[1].Choices)
	}
	return names
}

func TestEligibleSurveys(t *testing.T) {
	t.Parallel()
	b := setupEligible(t)
	b.survey(t, "everyone", entsurvey.StatusACTIVE, nil)
	b.survey(t, "engaged only", entsurvey.StatusACTIVE, &b.engaged)
	answered := b.survey(t, "answered by alice", entsurvey.StatusACTIVE, nil)
	b.survey(t, "draft", entsurvey.StatusDRAFT, nil)
	b.survey(t, "closed", entsurvey.StatusCLOSED, &b.engaged)
	b.survey(t, "archived target", entsurvey.StatusACTIVE, &b.archived)
	_, err := b.store.SubmitResponse(b.ctx, survey.Response{SurveyID: answered, UserID: "alice",
		Answers: []survey.Answer{{QuestionID: b.firstQuestion(t, answered), Score: ptr(9)}}})
	require.NoError(t, err)

	// Another project: a user "alice" in a segment, an ACTIVE survey, and an
	// answer to nothing of ours.
	other := newProject(t, b.client, t.Name()+" other")
	otherAlice := b.client.User.Create().SetExternalID("alice").SaveX(other)
	otherSeg := b.client.Segment.Create().SetName("theirs").SetKind(entsegment.KindSTATIC).SaveX(other)
	b.client.SegmentMember.Create().SetSegmentID(otherSeg.ID).SetUserID(otherAlice.ID).ExecX(other)
	_, err = b.store.Create(other, survey.Definition{Name: "their survey", Status: entsurvey.StatusACTIVE,
		TargetSegmentID: &otherSeg.ID, Questions: []survey.Question{{Kind: surveyquestion.KindTEXT, Prompt: "Hi?"}}})
	require.NoError(t, err)

	require.Equal(t, []string{"everyone", "engaged only"}, b.eligible(t, b.ctx, "alice"))
	require.Equal(t, []string{"everyone", "answered by alice"}, b.eligible(t, b.ctx, " bob "))
	require.Equal(t, []string{"everyone", "answered by alice"}, b.eligible(t, b.ctx, "never-seen"), "an unknown user gets the untargeted surveys")

	// Leaving the segment or answering takes a survey away at once.
	b.client.SegmentMember.Delete().ExecX(b.ctx)
	require.Equal(t, []string{"everyone"}, b.eligible(t, b.ctx, "alice"))
}

func TestEligibleSurveysValidation(t *testing.T) {
	t.Parallel()
	b := setupEligible(t)
	for _, userID := range []string{"", "  ", strings.Repeat("u", survey.MaxUserIDBytes+1)} {
		_, err := b.store.Eligible(b.ctx, userID)
		var inputErr *invalid.Error
		require.ErrorAs(t, err, &inputErr, "error %v", err)
		require.Equal(t, "userId", inputErr.Field)
	}
}

func (b *eligibleBundle) firstQuestion(t *testing.T, surveyID int) int {
	t.Helper()
	id, err := b.client.SurveyQuestion.Query().Where(surveyquestion.SurveyID(surveyID), surveyquestion.Position(0)).OnlyID(b.ctx)
	require.NoError(t, err)
	return id
}
