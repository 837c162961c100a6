package analytics_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/analytics"
)

// given is one piece of crafted feedback.
type given struct {
	user      int
	kind      feedback.Kind
	at        string
	rating    *int
	nps       *int
	tags      []string
	sentiment feedback.Sentiment
	status    feedback.Status
}

func (b *bundle) feedback(t *testing.T, list ...given) {
	t.Helper()
	for _, g := range list {
		create := b.client.Feedback.Create().SetUserID(g.user).SetKind(g.kind).SetTimestamp(at(t, g.at)).
			SetNillableRating(g.rating).SetNillableNpsScore(g.nps).SetTags(g.tags)
		if g.sentiment != "" {
			create.SetSentiment(g.sentiment)
		}
		if g.status != "" {
			create.SetStatus(g.status)
		}
		require.NoError(t, create.Exec(b.admin()))
	}
}

// csat answers a survey's CSAT question (and its NPS question, which CSAT
// ignores) with score at the instant.
func (b *bundle) csat(t *testing.T, surveyID, csatID, npsID, user, score int, when string) {
	t.Helper()
	nps := 0
	require.NoError(t, b.client.SurveyResponse.Create().SetSurveyID(surveyID).SetUserID(user).SetSubmittedAt(at(t, when)).
		SetAnswers([]schematype.SurveyAnswer{{QuestionID: csatID, Score: &score}, {QuestionID: npsID, Score: &nps}}).Exec(b.admin()))
}

// summaryRow shows a FeedbackSummary's numbers in one comparable string.
func summaryRow(s *analytics.FeedbackSummary) string {
	f := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprintf("%.2f", *p)
	}
	return fmt.Sprintf("responses %d nps %s (%d: %d/%d/%d) rating %s (%d) csat %s (%d)",
		s.Responses, f(s.NPS), s.NPSRespondents, s.Promoters, s.Passives, s.Detractors,
		f(s.AverageRating), s.Ratings, f(s.AverageCSAT), s.CSATAnswers)
}

// The project is in Tokyo (UTC+9): Mar 2 there is from Mar 1 15:00 UTC to
// Mar 2 15:00 UTC.
func TestFeedbackSummaryInProjectTimeZone(t *testing.T) {
	t.Parallel()
	b := setup(t, "Asia/Tokyo")
	a := b.user(t, "a", time.Time{})
	bb := b.user(t, "b", time.Time{})
	c := b.user(t, "c", time.Time{})
	d := b.user(t, "d", time.Time{})
	b.feedback(t,
		given{user: a, kind: feedback.KindBUG, at: "2026-03-01T15:00:00Z", rating: ptr(2), tags: []string{"checkout", "ui"},
			sentiment: feedback.SentimentNEGATIVE}, // midnight in Tokyo: in
		given{user: a, kind: feedback.KindPRAISE, at: "2026-03-02T01:00:00Z", rating: ptr(5), nps: ptr(10), tags: []string{"ui"},
			sentiment: feedback.SentimentPOSITIVE, status: feedback.StatusRESOLVED},
		given{user: bb, kind: feedback.KindBUG, at: "2026-03-02T02:00:00Z", nps: ptr(3), sentiment: feedback.SentimentNEUTRAL},
		given{user: bb, kind: feedback.KindQUESTION, at: "2026-03-02T03:00:00Z", nps: ptr(8), tags: []string{"checkout"},
			status: feedback.StatusTRIAGED}, // b's latest score: passive
		given{user: c, kind: feedback.KindCOMPLAINT, at: "2026-03-02T14:59:59Z", rating: ptr(1), nps: ptr(0),
			sentiment: feedback.SentimentNEGATIVE},
		given{user: d, kind: feedback.KindBUG, at: "2026-03-02T15:00:00Z", nps: ptr(10)}, // midnight of Mar 3: out
		given{user: a, kind: feedback.KindBUG, at: "2026-03-01T14:59:59Z"},               // Mar 1: out
	)
	survey, err := b.client.Survey.Create().SetName("pulse").Save(b.admin())
	require.NoError(t, err)
	csatQ, err := b.client.SurveyQuestion.Create().SetSurveyID(survey.ID).SetPosition(0).SetKind(surveyquestion.KindCSAT).SetPrompt("Happy?").Save(b.admin())
	require.NoError(t, err)
	npsQ, err := b.client.SurveyQuestion.Create().SetSurveyID(survey.ID).SetPosition(1).SetKind(surveyquestion.KindNPS).SetPrompt("Recommend?").Save(b.admin())
	require.NoError(t, err)
	b.csat(t, survey.ID, csatQ.ID, npsQ.ID, a, 4, "2026-03-02T05:00:00Z")
	b.csat(t, survey.ID, csatQ.ID, npsQ.ID, bb, 2, "2026-03-02T06:00:00Z")
	b.csat(t, survey.ID, csatQ.ID, npsQ.ID, c, 5, "2026-03-02T15:30:00Z") // Mar 3: out

	got, err := b.service.FeedbackSummary(b.ctx, nil, day(t, "2026-03-02"), day(t, "2026-03-02"), 10)
	require.NoError(t, err)
	require.Equal(t, "responses 5 nps 0.00 (3: 1/1/1) rating 2.67 (3) csat 3.00 (2)", summaryRow(got))
	require.Equal(t, []analytics.KindCount{{Kind: feedback.KindBUG, Count: 2}, {Kind: feedback.KindFEATURE_REQUEST},
		{Kind: feedback.KindPRAISE, Count: 1}, {Kind: feedback.KindCOMPLAINT, Count: 1}, {Kind: feedback.KindQUESTION, Count: 1},
		{Kind: feedback.KindOTHER}}, got.ByKind)
	require.Equal(t, []analytics.StatusCount{{Status: feedback.StatusNEW, Count: 3}, {Status: feedback.StatusTRIAGED, Count: 1},
		{Status: feedback.StatusIN_PROGRESS}, {Status: feedback.StatusRESOLVED, Count: 1}, {Status: feedback.StatusCLOSED}}, got.ByStatus)
	require.Equal(t, []analytics.SentimentCount{{Sentiment: feedback.SentimentPOSITIVE, Count: 1},
		{Sentiment: feedback.SentimentNEUTRAL, Count: 1}, {Sentiment: feedback.SentimentNEGATIVE, Count: 2}}, got.BySentiment)
	require.Equal(t, []analytics.TagCount{{Tag: "checkout", Count: 2}, {Tag: "ui", Count: 2}}, got.TopTags)

	got, err = b.service.FeedbackSummary(b.ctx, nil, day(t, "2026-03-02"), day(t, "2026-03-02"), 1)
	require.NoError(t, err)
	require.Equal(t, []analytics.TagCount{{Tag: "checkout", Count: 2}}, got.TopTags)

	seg := b.segment(t, "a and c", a, c)
	got, err = b.service.FeedbackSummary(b.ctx, &seg, day(t, "2026-03-02"), day(t, "2026-03-02"), 10)
	require.NoError(t, err)
	require.Equal(t, "responses 3 nps 0.00 (2: 1/0/1) rating 2.67 (3) csat 4.00 (1)", summaryRow(got))

	o := b.other(t)
	got, err = o.service.FeedbackSummary(o.ctx, nil, day(t, "2026-03-01"), day(t, "2026-03-03"), 10)
	require.NoError(t, err)
	require.Equal(t, "responses 0 nps nil (0: 0/0/0) rating nil (0) csat nil (0)", summaryRow(got))
	require.Empty(t, got.TopTags)
	require.Len(t, got.ByKind, 6)
}

// segmentRow shows a SegmentFeedback's numbers in one comparable string.
func segmentRow(s analytics.SegmentFeedback) string {
	name := "all"
	if s.Segment != nil {
		name = s.Segment.Name
	}
	rate, nps := "nil", "nil"
	if s.BugReportsPer100ActiveUsers != nil {
		rate = fmt.Sprintf("%.2f", *s.BugReportsPer100ActiveUsers)
	}
	if s.NPS != nil {
		nps = fmt.Sprintf("%.2f", *s.NPS)
	}
	return fmt.Sprintf("%s: active %d responses %d bugs %d per100 %s nps %s (%d)", name, s.ActiveUsers, s.Responses,
		s.ByKind[0].Count, rate, nps, s.NPSRespondents)
}

func TestFeedbackBySegment(t *testing.T) {
	t.Parallel()
	b := setup(t, "UTC")
	a := b.user(t, "a", at(t, "2026-03-01T00:00:00Z"))
	bb := b.user(t, "b", at(t, "2026-03-01T00:00:00Z"))
	c := b.user(t, "c", at(t, "2026-03-01T00:00:00Z"))
	d := b.user(t, "d", at(t, "2026-03-01T00:00:00Z"))
	b.active(t, a, "2026-03-02", "2026-03-03")
	b.active(t, bb, "2026-03-03")
	b.active(t, c, "2026-03-05") // after the range: not active in it
	b.active(t, d, "2026-03-02")
	b.feedback(t,
		given{user: a, kind: feedback.KindBUG, at: "2026-03-02T10:00:00Z"},
		given{user: a, kind: feedback.KindBUG, at: "2026-03-03T10:00:00Z"},
		given{user: bb, kind: feedback.KindBUG, at: "2026-03-03T11:00:00Z", nps: ptr(9)},
		given{user: c, kind: feedback.KindBUG, at: "2026-03-03T12:00:00Z", nps: ptr(2)},
		given{user: d, kind: feedback.KindPRAISE, at: "2026-03-02T12:00:00Z", nps: ptr(7)},
		given{user: d, kind: feedback.KindBUG, at: "2026-03-04T00:00:00Z"}, // after the range
	)
	s1 := b.segment(t, "S1", a, bb)
	s2 := b.segment(t, "S2", bb, c)
	s3 := b.segment(t, "S3", c)

	got, err := b.service.FeedbackBySegment(b.ctx, []int{s1, s2, s3}, day(t, "2026-03-02"), day(t, "2026-03-03"))
	require.NoError(t, err)
	rows := []string{}
	for _, s := range got.Segments {
		rows = append(rows, segmentRow(s))
	}
	require.Equal(t, []string{
		"S1: active 2 responses 3 bugs 3 per100 150.00 nps 100.00 (1)",
		"S2: active 1 responses 2 bugs 2 per100 200.00 nps 0.00 (2)",
		"S3: active 0 responses 1 bugs 1 per100 nil nps -100.00 (1)",
	}, rows)
	require.Equal(t, "all: active 3 responses 5 bugs 4 per100 133.33 nps 0.00 (3)", segmentRow(got.AllUsers))
	require.Equal(t, feedback.KindPRAISE, got.AllUsers.ByKind[2].Kind)
	require.Equal(t, 1, got.AllUsers.ByKind[2].Count)

	o := b.other(t)
	theirs, err := o.service.FeedbackBySegment(o.ctx, []int{o.segment(t, "theirs")}, day(t, "2026-03-02"), day(t, "2026-03-03"))
	require.NoError(t, err)
	require.Equal(t, "all: active 0 responses 0 bugs 0 per100 nil nps nil (0)", segmentRow(theirs.AllUsers))
	_, err = o.service.FeedbackBySegment(o.ctx, []int{s1}, day(t, "2026-03-02"), day(t, "2026-03-03"))
	requireField(t, err, "segmentIds[0]")
}
