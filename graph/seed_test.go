package graph_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/event"
	"github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
)

// seeded is one project's worth of every entity, with their ids.
type seeded struct {
	Users       []*ent.User
	Events      []*ent.Event
	Feedback    []*ent.Feedback
	Segment     *ent.Segment
	Membership  *ent.SegmentMembership
	Run         *ent.SegmentRun
	Survey      *ent.Survey
	Question    *ent.SurveyQuestion
	Response    *ent.SurveyResponse
	APIKeyCount int
}

// seed writes n users (external ids prefix-0..n-1, event counts 0..n-1 and
// last seen i hours ago), two events and one feedback per user, one segment
// whose members are the even users (its size stored), a run, a survey with a response.
func seed(t *testing.T, b *testBundle, p *testProject, prefix string, n int) *seeded {
	t.Helper()
	ctx := p.ctx
	now := time.Now().UTC().Truncate(time.Second)
	s := &seeded{APIKeyCount: 3}
	for i := range n {
		u, err := b.client.User.Create().
			SetExternalID(fmt.Sprintf("%s-%d", prefix, i)).
			SetTraits(json.RawMessage(fmt.Sprintf(`{"plan": %q, "index": %d}`, []string{"free", "pro"}[i%2], i))).
			SetFirstSeenAt(now.Add(-time.Duration(24*(i+1)) * time.Hour)).
			SetLastSeenAt(now.Add(-time.Duration(i) * time.Hour)).
			SetEventCount(int64(i)).
			Save(ctx)
		require.NoError(t, err)
		s.Users = append(s.Users, u)
		for j := range 2 {
			e, err := b.client.Event.Create().
				SetUserID(u.ID).
				SetName([]string{"export", "login"}[j]).
				SetTimestamp(now.Add(-time.Duration(i*10+j) * time.Minute)).
				SetPlatform(event.PlatformDESKTOP).
				SetProperties(map[string]any{"n": j}).
				SetMessageID(fmt.Sprintf("%s-%d-%d", prefix, i, j)).
				Save(ctx)
			require.NoError(t, err)
			s.Events = append(s.Events, e)
		}
		fb, err := b.client.Feedback.Create().
			SetUserID(u.ID).
			SetKind(feedback.KindBUG).
			SetText("it broke").
			SetTags([]string{"checkout"}).
			Save(ctx)
		require.NoError(t, err)
		s.Feedback = append(s.Feedback, fb)
	}
	var err error
	s.Segment, err = b.client.Segment.Create().SetName(prefix + " evens").
		SetRule([]byte(`{"trait":{"key":"plan","op":"EQ","value":"free"}}`)).Save(ctx)
	require.NoError(t, err)
	s.Run, err = b.client.SegmentRun.Create().SetSegmentID(s.Segment.ID).
		SetTrigger(segmentrun.TriggerMANUAL).SetStatus(segmentrun.StatusCOMPLETED).SetSeq(1).Save(ctx)
	require.NoError(t, err)
	for i := 0; i < n; i += 2 {
		m, err := b.client.SegmentMembership.Create().SetSegmentID(s.Segment.ID).SetUserID(s.Users[i].ID).
			SetEnteredAt(now).SetEnteredRunID(s.Run.ID).Save(ctx)
		require.NoError(t, err)
		s.Membership = m
		require.NoError(t, b.client.SegmentMember.Create().SetSegmentID(s.Segment.ID).SetUserID(s.Users[i].ID).Exec(ctx))
	}
	// The stored size, as the run that writes the members sets it.
	s.Segment, err = s.Segment.Update().SetSize((n + 1) / 2).Save(ctx)
	require.NoError(t, err)
	s.Survey, err = b.client.Survey.Create().SetName(prefix + " survey").Save(ctx)
	require.NoError(t, err)
	s.Question, err = b.client.SurveyQuestion.Create().SetSurveyID(s.Survey.ID).SetPosition(0).
		SetKind(surveyquestion.KindNPS).SetPrompt("How likely?").Save(ctx)
	require.NoError(t, err)
	if n > 0 {
		score := 9
		s.Response, err = b.client.SurveyResponse.Create().SetSurveyID(s.Survey.ID).SetUserID(s.Users[0].ID).
			SetAnswers([]schematype.SurveyAnswer{{QuestionID: s.Question.ID, Score: &score}}).Save(ctx)
		require.NoError(t, err)
	}
	return s
}
