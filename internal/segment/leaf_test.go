package segment_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// craftedWorld is four users whose every fact is chosen by hand, relative
// to yesterday noon UTC (so calendar days never straddle the test's run):
//
//	ann  plan pro, age 30; export (desktop) 1, 2, 3 days ago (csv, csv, pdf),
//	     login (mobile) 40 days ago; NPS 10 two days ago; survey "dev" 1 day ago
//	bob  plan free; export (mobile) 10 days ago; login (mobile) 1 hour and
//	     1, 2, 3 days ago; NPS 3 twenty days ago then 9 a day ago;
//	     survey "pm" 50 days ago
//	cid  no traits; login (tablet) 5 days ago; a BUG rated 2 a day ago
//	dan  identified only: no usage at all
//
// The static segment "s" holds ann and cid.
type craftedWorld struct {
	*world
	users             map[string]int
	survey, question  int
	segmentWithAnnCid int
}

func newCraftedWorld(t *testing.T) *craftedWorld {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	created, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	pid := created.Project.ID
	ctx := tenant.ForProject(context.Background(), pid)
	anchor := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
	day := 24 * time.Hour
	n := 0
	track := func(user, name, device string, ago time.Duration, props map[string]any) ingest.Message {
		n++
		return ingest.Message{Type: ingest.TypeTrack, UserID: user, Event: name, Timestamp: anchor.Add(-ago),
			MessageID: fmt.Sprintf("m%d", n), Properties: props, Context: ingest.Context{DeviceType: device}}
	}
	msgs := []ingest.Message{
		{Type: ingest.TypeIdentify, UserID: "ann", Traits: map[string]any{"plan": "pro", "age": 30}, MessageID: "i-ann"},
		{Type: ingest.TypeIdentify, UserID: "bob", Traits: map[string]any{"plan": "free"}, MessageID: "i-bob"},
		{Type: ingest.TypeIdentify, UserID: "cid", MessageID: "i-cid"},
		{Type: ingest.TypeIdentify, UserID: "dan", MessageID: "i-dan"},
		track("ann", "export", "desktop", 1*day, map[string]any{"format": "csv"}),
		track("ann", "export", "desktop", 2*day, map[string]any{"format": "csv"}),
		track("ann", "export", "desktop", 3*day, map[string]any{"format": "pdf"}),
		track("ann", "login", "mobile", 40*day, nil),
		track("bob", "export", "mobile", 10*day, nil),
		track("bob", "login", "mobile", time.Hour, nil),
		track("bob", "login", "mobile", 1*day, nil),
		track("bob", "login", "mobile", 2*day, nil),
		track("bob", "login", "mobile", 3*day, nil),
		track("cid", "login", "tablet", 5*day, nil),
	}
	_, err = ingest.NewWriter(db).Write(ctx, msgs)
	require.NoError(t, err)

	w := &craftedWorld{world: &world{db: db, env: segment.Env{ProjectID: pid, Now: anchor, Location: time.UTC}}, users: map[string]int{}}
	rows, err := db.Query(`SELECT external_id, id FROM users WHERE project_id = $1`, pid)
	require.NoError(t, err)
	for rows.Next() {
		var ext string
		var id int
		require.NoError(t, rows.Scan(&ext, &id))
		w.users[ext] = id
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())

	feedbackAt := func(user string, ago time.Duration, kind feedback.Kind, nps, rating *int) {
		create := client.Feedback.Create().SetUserID(w.users[user]).SetKind(kind).SetTimestamp(anchor.Add(-ago))
		if nps != nil {
			create.SetNpsScore(*nps)
		}
		if rating != nil {
			create.SetRating(*rating)
		}
		require.NoError(t, create.Exec(ctx))
	}
	ten, three, nine, two := 10, 3, 9, 2
	feedbackAt("ann", 2*day, feedback.KindPRAISE, &ten, nil)
	feedbackAt("bob", 20*day, feedback.KindCOMPLAINT, &three, nil)
	feedbackAt("bob", 1*day, feedback.KindPRAISE, &nine, nil)
	feedbackAt("cid", 1*day, feedback.KindBUG, nil, &two)

	sv, err := client.Survey.Create().SetName("role").Save(ctx)
	require.NoError(t, err)
	q, err := client.SurveyQuestion.Create().SetSurveyID(sv.ID).SetPosition(0).SetKind(surveyquestion.KindSINGLE_CHOICE).
		SetPrompt("role?").SetChoices([]string{"dev", "pm"}).Save(ctx)
	require.NoError(t, err)
	w.survey, w.question = sv.ID, q.ID
	for user, answer := range map[string]struct {
		choice string
		ago    time.Duration
	}{"ann": {"dev", day}, "bob": {"pm", 50 * day}} {
		require.NoError(t, client.SurveyResponse.Create().SetSurveyID(sv.ID).SetUserID(w.users[user]).
			SetAnswers([]schematype.SurveyAnswer{{QuestionID: q.ID, Choices: []string{answer.choice}}}).
			SetSubmittedAt(anchor.Add(-answer.ago)).Exec(ctx))
	}

	seg, err := client.Segment.Create().SetName("s").Save(ctx)
	require.NoError(t, err)
	w.segmentWithAnnCid = seg.ID
	for _, user := range []string{"ann", "cid"} {
		require.NoError(t, client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(w.users[user]).Exec(ctx))
	}
	return w
}

// who runs a rule through the SQL compiler and names its members.
func (w *craftedWorld) who(t *testing.T, rule string) []string {
	t.Helper()
	r, err := segment.Decode([]byte(rule))
	require.NoError(t, err)
	names := map[int]string{}
	for ext, id := range w.users {
		names[id] = ext
	}
	out := []string{}
	for _, id := range w.members(t, r) {
		out = append(out, names[id])
	}
	sort.Strings(out)
	return out
}

// TestEachConditionOnHandMadeData checks every kind of condition, and
// their combinations, against members worked out by hand.
func TestEachConditionOnHandMadeData(t *testing.T) {
	t.Parallel()
	w := newCraftedWorld(t)
	for _, tc := range []struct {
		name, rule string
		want       []string
	}{
		{"trait equals", `{"trait":{"key":"plan","op":"EQ","value":"pro"}}`, []string{"ann"}},
		{"trait missing", `{"trait":{"key":"plan","op":"NOT_EXISTS"}}`, []string{"cid", "dan"}},
		{"trait numeric", `{"trait":{"key":"age","op":"GT","value":25}}`, []string{"ann"}},
		{"event count", `{"event":{"name":"export","count":{"op":"GTE","value":3},"withinDays":7}}`, []string{"ann"}},
		{"event did not", `{"event":{"name":"export","count":{"op":"EQ","value":0},"withinDays":7}}`, []string{"bob", "cid", "dan"}},
		{"event at least once", `{"event":{"name":"export","withinDays":30}}`, []string{"ann", "bob"}},
		{"event property", `{"event":{"name":"export","where":[{"property":"format","op":"EQ","value":"csv"}],"count":{"op":"GTE","value":2},"withinDays":7}}`, []string{"ann"}},
		{"event property too few", `{"event":{"name":"export","where":[{"property":"format","op":"EQ","value":"csv"}],"count":{"op":"GTE","value":3},"withinDays":7}}`, []string{}},
		{"active days", `{"activity":{"activeDays":{"op":"GTE","value":4},"withinDays":7}}`, []string{"bob"}},
		{"active days exactly", `{"activity":{"activeDays":{"op":"EQ","value":3},"withinDays":7}}`, []string{"ann"}},
		{"inactive counts zero", `{"activity":{"activeDays":{"op":"EQ","value":0},"withinDays":4}}`, []string{"cid", "dan"}},
		{"first seen", `{"firstSeen":{"withinDays":7}}`, []string{"cid"}},
		{"last seen recently", `{"lastSeen":{"withinDays":2}}`, []string{"ann", "bob"}},
		{"dormant", `{"lastSeen":{"moreThanDaysAgo":4}}`, []string{"cid"}},
		{"mostly mobile", `{"platform":{"platform":"MOBILE","minShare":0.7,"withinDays":28}}`, []string{"bob"}},
		{"only tablet", `{"platform":{"platform":"TABLET","minShare":1,"withinDays":7}}`, []string{"cid"}},
		{"promoters by latest score", `{"feedback":{"npsCategory":"PROMOTER","withinDays":30}}`, []string{"ann", "bob"}},
		{"detractors by latest score", `{"feedback":{"npsCategory":"DETRACTOR","withinDays":30}}`, []string{}},
		{"not a promoter in the last day (its edge included)", `{"not":{"feedback":{"npsCategory":"PROMOTER","withinDays":1}}}`, []string{"ann", "cid", "dan"}},
		{"bug reports", `{"feedback":{"kind":"BUG"}}`, []string{"cid"}},
		{"low ratings", `{"feedback":{"rating":{"op":"LTE","value":2}}}`, []string{"cid"}},
		{"survey answer in window", fmt.Sprintf(`{"survey":{"surveyId":%d,"questionId":%d,"answerIn":["dev"],"withinDays":30}}`, w.survey, w.question), []string{"ann"}},
		{"survey answer out of window", fmt.Sprintf(`{"survey":{"surveyId":%d,"questionId":%d,"answerIn":["pm"],"withinDays":30}}`, w.survey, w.question), []string{}},
		{"survey answer ever", fmt.Sprintf(`{"survey":{"surveyId":%d,"questionId":%d,"answerIn":["pm"]}}`, w.survey, w.question), []string{"bob"}},
		{"in segment", fmt.Sprintf(`{"inSegment":%d}`, w.segmentWithAnnCid), []string{"ann", "cid"}},
		{"not in segment", fmt.Sprintf(`{"not":{"inSegment":%d}}`, w.segmentWithAnnCid), []string{"bob", "dan"}},
		{"and", `{"and":[{"event":{"name":"export","withinDays":30}},{"platform":{"platform":"MOBILE","minShare":0.7,"withinDays":28}}]}`, []string{"bob"}},
		{"or", `{"or":[{"trait":{"key":"plan","op":"EQ","value":"pro"}},{"firstSeen":{"withinDays":7}}]}`, []string{"ann", "cid"}},
		{"nested", fmt.Sprintf(`{"and":[{"not":{"inSegment":%d}},{"or":[{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":7}},{"trait":{"key":"plan","op":"EXISTS"}}]}]}`, w.segmentWithAnnCid), []string{"bob"}},
	} {
		require.Equal(t, tc.want, w.who(t, tc.rule), tc.name)
	}
}
