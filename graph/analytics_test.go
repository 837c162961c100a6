package graph_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// analyticsFixture is a small project (UTC) for the analytics fields:
//
//	a: first seen Mar 2 2026, active Mar 2, 3, 10; export on Mar 2; BUG with NPS 10, tag x
//	b: first seen Mar 3, active Mar 3; export and login on Mar 3
//	c: first seen Mar 9, active Mar 9; login on Mar 9; BUG with NPS 0, rating 4, tags x, y
//
// S1 holds a and b (both since Mar 1), S2 holds b (since Mar 5) and c
// (since Mar 8).
type analyticsFixture struct {
	s1, s2 string
}

func seedAnalytics(t *testing.T, b *testBundle, p *testProject) analyticsFixture {
	t.Helper()
	db := pgtest.DB(t)
	mar := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	users := map[string]int{}
	for _, u := range []struct {
		name   string
		first  int
		active []string
		events []string
	}{
		{"a", 2, []string{"2026-03-02", "2026-03-03", "2026-03-10"}, []string{"export"}},
		{"b", 3, []string{"2026-03-03"}, []string{"export", "login"}},
		{"c", 9, []string{"2026-03-09"}, []string{"login"}},
	} {
		created, err := b.client.User.Create().SetExternalID(u.name).SetFirstSeenAt(mar(u.first, 9)).
			SetLastSeenAt(mar(u.first, 9)).Save(p.ctx)
		require.NoError(t, err)
		users[u.name] = created.ID
		for _, d := range u.active {
			_, err := db.Exec(`INSERT INTO user_daily_activities (project_id, user_id, day, events, mobile_events, tablet_events, desktop_events)
				VALUES ($1, $2, $3::date, 1, 0, 0, 1)`, p.ID, created.ID, d)
			require.NoError(t, err)
		}
		for i, name := range u.events {
			require.NoError(t, b.client.Event.Create().SetUserID(created.ID).SetName(name).SetTimestamp(mar(u.first, 10)).
				SetMessageID(fmt.Sprintf("%s-%d", u.name, i)).Exec(p.ctx))
		}
	}
	require.NoError(t, b.client.Feedback.Create().SetUserID(users["a"]).SetKind(feedback.KindBUG).SetNpsScore(10).
		SetTags([]string{"x"}).SetSentiment(feedback.SentimentNEGATIVE).SetTimestamp(mar(2, 12)).Exec(p.ctx))
	require.NoError(t, b.client.Feedback.Create().SetUserID(users["c"]).SetKind(feedback.KindBUG).SetNpsScore(0).SetRating(4).
		SetTags([]string{"x", "y"}).SetTimestamp(mar(9, 12)).Exec(p.ctx))
	segment := func(name string, members map[string]int) string {
		seg, err := b.client.Segment.Create().SetName(name).SetKind("STATIC").Save(p.ctx)
		require.NoError(t, err)
		for user, enteredDay := range members {
			require.NoError(t, b.client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(users[user]).Exec(p.ctx))
			require.NoError(t, b.client.SegmentMembership.Create().SetSegmentID(seg.ID).SetUserID(users[user]).
				SetEnteredAt(mar(enteredDay, 0)).Exec(p.ctx))
		}
		return gid(seg.ID)
	}
	return analyticsFixture{
		s1: segment("S1", map[string]int{"a": 1, "b": 1}),
		s2: segment("S2", map[string]int{"b": 5, "c": 8}),
	}
}

// requireData runs query with key and compares its data with want (JSON).
func (b *testBundle) requireData(t *testing.T, key, query string, vars map[string]any, want string) {
	t.Helper()
	status, res := b.do(t, key, query, vars)
	require.Empty(t, res.Errors, "query %s", query)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, want, string(res.Data))
}

const engagementQuery = `query($segmentId: ID) {
  engagement(from: "2026-03-02", to: "2026-03-15", interval: WEEK, segmentId: $segmentId) {
    buckets { start end activeUsers averageDailyActiveUsers averageMonthlyActiveUsers stickiness }
    averageDailyActiveUsers averageMonthlyActiveUsers stickiness
  }
  powerUserCurve(days: 7, to: "2026-03-08", segmentId: $segmentId) { activeDays users }
  lifecycle(from: "2026-03-02", to: "2026-03-15", interval: WEEK, segmentId: $segmentId) {
    start end new returning resurrecting dormant
  }
  retention(cohortInterval: WEEK, periods: 1, to: "2026-03-15", segmentId: $segmentId) {
    start end users periods { period start activeUsers share }
  }
}`

// Week 1: DAU 1,2,0,0,0,0,0 and MAU 1,2,2,2,2,2,2; week 2: DAU 1,1,0,0,0,0,0
// and MAU 3 every day.
func TestAnalyticsEngagementLifecycleRetention(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedAnalytics(t, b, b.project)
	b.requireData(t, b.project.Read, engagementQuery, nil, `{
	  "engagement": {
	    "buckets": [
	      {"start": "2026-03-02", "end": "2026-03-08", "activeUsers": 2, "averageDailyActiveUsers": 0.42857142857142855,
	       "averageMonthlyActiveUsers": 1.8571428571428572, "stickiness": 0.23076923076923078},
	      {"start": "2026-03-09", "end": "2026-03-15", "activeUsers": 2, "averageDailyActiveUsers": 0.2857142857142857,
	       "averageMonthlyActiveUsers": 3, "stickiness": 0.09523809523809523}
	    ],
	    "averageDailyActiveUsers": 0.35714285714285715, "averageMonthlyActiveUsers": 2.4285714285714284, "stickiness": 0.14705882352941177
	  },
	  "powerUserCurve": [{"activeDays": 1, "users": 1}, {"activeDays": 2, "users": 1}, {"activeDays": 3, "users": 0},
	    {"activeDays": 4, "users": 0}, {"activeDays": 5, "users": 0}, {"activeDays": 6, "users": 0}, {"activeDays": 7, "users": 0}],
	  "lifecycle": [
	    {"start": "2026-03-02", "end": "2026-03-08", "new": 2, "returning": 0, "resurrecting": 0, "dormant": 0},
	    {"start": "2026-03-09", "end": "2026-03-15", "new": 1, "returning": 1, "resurrecting": 0, "dormant": 1}
	  ],
	  "retention": [
	    {"start": "2026-03-02", "end": "2026-03-08", "users": 2, "periods": [
	      {"period": 0, "start": "2026-03-02", "activeUsers": 2, "share": 1},
	      {"period": 1, "start": "2026-03-09", "activeUsers": 1, "share": 0.5}]},
	    {"start": "2026-03-09", "end": "2026-03-15", "users": 1, "periods": [
	      {"period": 0, "start": "2026-03-09", "activeUsers": 1, "share": 1}]}
	  ]
	}`)

	// Restricted to S2 (b and c).
	var out struct {
		Engagement struct {
			Buckets []struct{ ActiveUsers int }
		}
		PowerUserCurve []struct{ Users int }
		Lifecycle      []struct{ New, Returning, Dormant int }
		Retention      []struct{ Users int }
	}
	b.query(t, b.project.Read, engagementQuery, map[string]any{"segmentId": f.s2}, &out)
	require.Equal(t, 1, out.Engagement.Buckets[0].ActiveUsers)
	require.Equal(t, 1, out.PowerUserCurve[0].Users)
	require.Equal(t, 1, out.Lifecycle[1].New)
	require.Equal(t, 1, out.Lifecycle[1].Dormant)
	require.Equal(t, 1, out.Retention[0].Users)
}

const segmentAnalyticsQuery = `query($ids: [ID!]!, $s1: ID!) {
  segmentOverlap(segmentIds: $ids) { a { name } b { name } intersection jaccard }
  segmentTransitions(segmentIds: $ids, from: "2026-03-04T00:00:00Z", to: "2026-03-09T00:00:00Z") {
    from { name } to { name } users
  }
  featureUsage(segmentId: $s1, from: "2026-03-02", to: "2026-03-09") {
    segmentUsers allUsers events { name segmentUsers segmentShare allUsers allShare lift }
  }
}`

func TestAnalyticsSegments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedAnalytics(t, b, b.project)
	// On Mar 4, a and b are in S1 (b joins S2 on Mar 5) and c in none; on
	// Mar 9 b is in both and counts in S1, listed first.
	b.requireData(t, b.project.Read, segmentAnalyticsQuery, map[string]any{"ids": []string{f.s1, f.s2}, "s1": f.s1}, `{
	  "segmentOverlap": [{"a": {"name": "S1"}, "b": {"name": "S2"}, "intersection": 1, "jaccard": 0.3333333333333333}],
	  "segmentTransitions": [
	    {"from": {"name": "S1"}, "to": {"name": "S1"}, "users": 2},
	    {"from": {"name": "S1"}, "to": {"name": "S2"}, "users": 0},
	    {"from": {"name": "S1"}, "to": null, "users": 0},
	    {"from": {"name": "S2"}, "to": {"name": "S1"}, "users": 0},
	    {"from": {"name": "S2"}, "to": {"name": "S2"}, "users": 0},
	    {"from": {"name": "S2"}, "to": null, "users": 0},
	    {"from": null, "to": {"name": "S1"}, "users": 0},
	    {"from": null, "to": {"name": "S2"}, "users": 1}
	  ],
	  "featureUsage": {"segmentUsers": 2, "allUsers": 3, "events": [
	    {"name": "export", "segmentUsers": 2, "segmentShare": 1, "allUsers": 2, "allShare": 0.6666666666666666, "lift": 1.5},
	    {"name": "login", "segmentUsers": 1, "segmentShare": 0.5, "allUsers": 2, "allShare": 0.6666666666666666, "lift": 0.75}
	  ]}
	}`)
}

const feedbackAnalyticsQuery = `query($segmentId: ID, $ids: [ID!]!) {
  feedbackSummary(segmentId: $segmentId, from: "2026-03-01", to: "2026-03-31") {
    responses nps npsRespondents promoters passives detractors averageRating ratings averageCsat csatAnswers
    byKind { kind count } byStatus { status count } bySentiment { sentiment count } topTags { tag count }
  }
  feedbackBySegment(segmentIds: $ids, from: "2026-03-02", to: "2026-03-09") {
    segments { segment { name } activeUsers responses bugReportsPer100ActiveUsers nps npsRespondents }
    allUsers { segment { name } activeUsers responses byKind { kind count } bugReportsPer100ActiveUsers nps npsRespondents }
  }
}`

func TestAnalyticsFeedback(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedAnalytics(t, b, b.project)
	ids := []string{f.s1, f.s2}
	kinds := `[{"kind": "BUG", "count": 2}, {"kind": "FEATURE_REQUEST", "count": 0}, {"kind": "PRAISE", "count": 0},
	  {"kind": "COMPLAINT", "count": 0}, {"kind": "QUESTION", "count": 0}, {"kind": "OTHER", "count": 0}]`
	b.requireData(t, b.project.Read, feedbackAnalyticsQuery, map[string]any{"ids": ids}, `{
	  "feedbackSummary": {
	    "responses": 2, "nps": 0, "npsRespondents": 2, "promoters": 1, "passives": 0, "detractors": 1,
	    "averageRating": 4, "ratings": 1, "averageCsat": null, "csatAnswers": 0,
	    "byKind": `+kinds+`,
	    "byStatus": [{"status": "NEW", "count": 2}, {"status": "TRIAGED", "count": 0}, {"status": "IN_PROGRESS", "count": 0},
	      {"status": "RESOLVED", "count": 0}, {"status": "CLOSED", "count": 0}],
	    "bySentiment": [{"sentiment": "POSITIVE", "count": 0}, {"sentiment": "NEUTRAL", "count": 0}, {"sentiment": "NEGATIVE", "count": 1}],
	    "topTags": [{"tag": "x", "count": 2}, {"tag": "y", "count": 1}]
	  },
	  "feedbackBySegment": {
	    "segments": [
	      {"segment": {"name": "S1"}, "activeUsers": 2, "responses": 1, "bugReportsPer100ActiveUsers": 50, "nps": 100, "npsRespondents": 1},
	      {"segment": {"name": "S2"}, "activeUsers": 2, "responses": 1, "bugReportsPer100ActiveUsers": 50, "nps": -100, "npsRespondents": 1}
	    ],
	    "allUsers": {"segment": null, "activeUsers": 3, "responses": 2, "byKind": `+kinds+`,
	      "bugReportsPer100ActiveUsers": 66.66666666666667, "nps": 0, "npsRespondents": 2}
	  }
	}`)

	var out struct {
		FeedbackSummary struct {
			Responses int
			NPS       float64
		}
	}
	b.query(t, b.project.Read, feedbackAnalyticsQuery, map[string]any{"segmentId": f.s1, "ids": ids}, &out)
	require.Equal(t, 1, out.FeedbackSummary.Responses, "only a's feedback")
	require.Equal(t, 100.0, out.FeedbackSummary.NPS)
}

// The power-user curve and retention end today in the project's time
// zone by default. Kiritimati is UTC+14: its calendar is ahead of UTC's
// for most of the day.
func TestAnalyticsDefaultToToday(t *testing.T) {
	t.Parallel()
	b := setup(t)
	zone := "Pacific/Kiritimati"
	require.NoError(t, b.client.Project.UpdateOneID(b.project.ID).SetTimezone(zone).Exec(b.project.ctx))
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	now := time.Now()
	today := now.In(loc).Format(time.DateOnly)
	u, err := b.client.User.Create().SetExternalID("today").SetFirstSeenAt(now).SetLastSeenAt(now).Save(b.project.ctx)
	require.NoError(t, err)
	_, err = pgtest.DB(t).Exec(`INSERT INTO user_daily_activities (project_id, user_id, day, events, mobile_events, tablet_events, desktop_events)
		VALUES ($1, $2, $3::date, 1, 0, 0, 1)`, b.project.ID, u.ID, today)
	require.NoError(t, err)

	var out struct {
		PowerUserCurve []struct{ ActiveDays, Users int }
		Retention      []struct {
			End   string
			Users int
		}
	}
	b.query(t, b.project.Read, `{ powerUserCurve(days: 1) { activeDays users } retention(cohortInterval: DAY, periods: 1) { end users } }`, nil, &out)
	require.Equal(t, []struct{ ActiveDays, Users int }{{1, 1}}, out.PowerUserCurve)
	require.Len(t, out.Retention, 2)
	require.Equal(t, today, out.Retention[1].End)
	require.Equal(t, 1, out.Retention[1].Users)
}

// Another project's key sees nothing of this project: every field answers
// for its own (empty) project, and naming this project's segments is bad
// input.
func TestAnalyticsTenantIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := seedAnalytics(t, b, b.project)
	other := b.newProject(t, "other")
	theirs, err := b.client.Segment.Create().SetName("theirs").SetKind("STATIC").Save(other.ctx)
	require.NoError(t, err)

	var eng struct {
		Engagement struct {
			Buckets []struct{ ActiveUsers int }
		}
		PowerUserCurve []struct{ Users int }
		Lifecycle      []struct{ New, Returning, Resurrecting, Dormant int }
		Retention      []struct{ Users int }
	}
	b.query(t, other.Read, engagementQuery, nil, &eng)
	for _, bucket := range eng.Engagement.Buckets {
		require.Zero(t, bucket.ActiveUsers)
	}
	for _, bar := range eng.PowerUserCurve {
		require.Zero(t, bar.Users)
	}
	for _, l := range eng.Lifecycle {
		require.Zero(t, l.New+l.Returning+l.Resurrecting+l.Dormant)
	}
	for _, c := range eng.Retention {
		require.Zero(t, c.Users)
	}

	mine := gid(theirs.ID)
	b.requireData(t, other.Read, `query($id: ID!) {
	  segmentTransitions(segmentIds: [$id], from: "2026-03-04T00:00:00Z", to: "2026-03-09T00:00:00Z") { users }
	  featureUsage(segmentId: $id, from: "2026-03-02", to: "2026-03-09") { segmentUsers allUsers events { name } }
	  feedbackSummary(from: "2026-03-01", to: "2026-03-31") { responses nps topTags { tag } }
	  feedbackBySegment(segmentIds: [$id], from: "2026-03-02", to: "2026-03-09") { allUsers { activeUsers responses } }
	}`, map[string]any{"id": mine}, `{
	  "segmentTransitions": [{"users": 0}, {"users": 0}, {"users": 0}],
	  "featureUsage": {"segmentUsers": 0, "allUsers": 0, "events": []},
	  "feedbackSummary": {"responses": 0, "nps": null, "topTags": []},
	  "feedbackBySegment": {"allUsers": {"activeUsers": 0, "responses": 0}}
	}`)

	// The other project's key names this project's S1.
	for _, tc := range []struct{ query, field string }{
		{`query($s: ID!) { engagement(from: "2026-03-02", to: "2026-03-15", segmentId: $s) { stickiness } }`, "segmentId"},
		{`query($s: ID!) { powerUserCurve(segmentId: $s) { users } }`, "segmentId"},
		{`query($s: ID!) { lifecycle(from: "2026-03-02", to: "2026-03-15", segmentId: $s) { new } }`, "segmentId"},
		{`query($s: ID!) { retention(segmentId: $s) { users } }`, "segmentId"},
		{`query($s: ID!, $mine: ID!) { segmentOverlap(segmentIds: [$mine, $s]) { jaccard } }`, "segmentIds[1]"},
		{`query($s: ID!) { segmentTransitions(segmentIds: [$s], from: "2026-03-04T00:00:00Z", to: "2026-03-09T00:00:00Z") { users } }`, "segmentIds[0]"},
		{`query($s: ID!) { featureUsage(segmentId: $s, from: "2026-03-02", to: "2026-03-09") { allUsers } }`, "segmentId"},
		{`query($s: ID!) { feedbackSummary(segmentId: $s, from: "2026-03-01", to: "2026-03-31") { responses } }`, "segmentId"},
		{`query($s: ID!) { feedbackBySegment(segmentIds: [$s], from: "2026-03-02", to: "2026-03-09") { allUsers { responses } } }`, "segmentIds[0]"},
	} {
		vars := map[string]any{"s": f.s1}
		if strings.Contains(tc.query, "$mine") {
			vars["mine"] = mine
		}
		_, res := b.do(t, other.Read, tc.query, vars)
		require.Equal(t, "BAD_USER_INPUT", res.code(), "query %s: %+v", tc.query, res.Errors)
		require.Equal(t, tc.field, res.Errors[0].Extensions["field"], "query %s", tc.query)
		require.NotContains(t, string(res.Data), "S1")
	}
}

func TestAnalyticsErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const query = `{ engagement(from: "2026-03-02", to: "2026-03-15") { stickiness } }`
	_, res := b.do(t, b.project.Ingest, query, nil)
	require.Equal(t, "FORBIDDEN", res.code(), "analytics need a READ key")
	_, res = b.do(t, "", query, nil)
	require.Equal(t, "UNAUTHENTICATED", res.code())

	for _, tc := range []struct{ query, field string }{
		{`{ engagement(from: "2026-03-15", to: "2026-03-02") { stickiness } }`, "from"},
		{`{ lifecycle(from: "2020-01-01", to: "2026-03-02", interval: DAY) { new } }`, "to"},
		{`{ powerUserCurve(days: 0) { users } }`, "days"},
		{`{ retention(periods: 91) { users } }`, "periods"},
		{`{ segmentOverlap(segmentIds: []) { jaccard } }`, "segmentIds"},
		{`{ segmentTransitions(segmentIds: ["` + unknownID(t, "segments") + `"], from: "2026-03-09T00:00:00Z", to: "2026-03-04T00:00:00Z") { users } }`, "from"},
		{`{ feedbackSummary(from: "2026-03-01", to: "2026-03-31", topTags: 0) { responses } }`, "topTags"},
	} {
		_, res := b.do(t, b.project.Read, tc.query, nil)
		require.Equal(t, "BAD_USER_INPUT", res.code(), "query %s: %+v", tc.query, res.Errors)
		require.Equal(t, tc.field, res.Errors[0].Extensions["field"], "query %s", tc.query)
	}

	// A malformed Date is refused by the scalar before any resolver runs.
	_, res = b.do(t, b.project.Read, `{ engagement(from: "March 2", to: "2026-03-15") { stickiness } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", res.code(), "%+v", res.Errors)
	require.Contains(t, res.Errors[0].Message, "YYYY-MM-DD")
	require.Equal(t, "from", res.Errors[0].Extensions["field"])
}
