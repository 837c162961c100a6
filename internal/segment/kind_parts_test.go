package segment_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// partsNow is the instant the parts table is evaluated at.
var partsNow = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)

// partsData is the parts table's dataset, relative to partsNow:
//
//	user 1  plan pro; export (MOBILE) 1 day ago (format csv) and 2 days ago
//	        (pdf), login (DESKTOP) 40 days ago; a BUG rated 2 a day ago, NPS
//	        10 two days ago; survey 7 answered "dev", score 9, a day ago;
//	        member of segment 5
//	user 2  plan free; login (DESKTOP) 10 days ago; NPS 3 twenty days ago;
//	        survey 7 answered "pm" 50 days ago
//	user 3  nothing
func partsData() *segment.Dataset {
	day := 24 * time.Hour
	ago := func(d time.Duration) time.Time { return partsNow.Add(-d) }
	two, ten, three, nine := 2, 10, 3, 9
	return &segment.Dataset{
		Users: []segment.RefUser{{ID: 1, Traits: map[string]any{"plan": "pro"}}, {ID: 2, Traits: map[string]any{"plan": "free"}}, {ID: 3}},
		Events: []segment.RefEvent{
			{UserID: 1, Name: "export", At: ago(day), Platform: "MOBILE", Properties: map[string]any{"format": "csv"}},
			{UserID: 1, Name: "export", At: ago(2 * day), Platform: "MOBILE", Properties: map[string]any{"format": "pdf"}},
			{UserID: 1, Name: "login", At: ago(40 * day), Platform: "DESKTOP"},
			{UserID: 2, Name: "login", At: ago(10 * day), Platform: "DESKTOP"},
		},
		Feedback: []segment.RefFeedback{
			{ID: 1, UserID: 1, Kind: "BUG", Rating: &two, At: ago(day)},
			{ID: 2, UserID: 1, Kind: "PRAISE", NPS: &ten, At: ago(2 * day)},
			{ID: 3, UserID: 2, Kind: "COMPLAINT", NPS: &three, At: ago(20 * day)},
		},
		Responses: []segment.RefResponse{
			{ID: 1, UserID: 1, SurveyID: 7, At: ago(day), Answers: []schematype.SurveyAnswer{{QuestionID: 8, Choices: []string{"dev"}}, {QuestionID: 9, Score: &nine}}},
			{ID: 2, UserID: 2, SurveyID: 7, At: ago(50 * day), Answers: []schematype.SurveyAnswer{{QuestionID: 8, Choices: []string{"pm"}}}},
		},
		Members: map[int]map[int]bool{5: {1: true}},
	}
}

// partsCase is one node of the parts table and what each part gives for
// it over partsData at partsNow.
type partsCase struct {
	field, rule        string
	broken, brokenPath string
	sql                string
	members            []int
	observed, text     string
	sources            []segment.Source
	crossesIn1h, in13h bool
	childPaths         []string
	reaches            []segment.Reach
}

// partsCases has at least one node of every kind.
func partsCases() []partsCase {
	return []partsCase{
		{
			field: "and", rule: `{"and":[{"trait":{"key":"plan","op":"EQ","value":"pro"}},{"event":{"name":"export"}}]}`,
			broken: `{"and":[]}`, brokenPath: "rule.and",
			sql: ") AND (", members: []int{1}, text: `trait plan = "pro" AND export ≥ 1 times`,
			sources:    []segment.Source{{Kind: segment.SourceEvent, Name: "export"}, {Kind: segment.SourceTrait, Name: "plan"}},
			childPaths: []string{"rule.and[0]", "rule.and[1]"},
			reaches:    []segment.Reach{{Path: "rule.and[1].event", Days: 0}},
		},
		{
			field: "or", rule: `{"or":[{"trait":{"key":"plan","op":"EQ","value":"free"}},{"event":{"name":"export","withinDays":7}}]}`,
			broken: `{"or":[{"trait":{"key":"plan","op":"EQ"}}]}`, brokenPath: "rule.or[0].trait.value",
			sql: ") OR (", members: []int{1, 2}, text: `trait plan = "free" OR export ≥ 1 times in the last 7 days`,
			sources:     []segment.Source{{Kind: segment.SourceEvent, Name: "export"}, {Kind: segment.SourceTrait, Name: "plan"}},
			crossesIn1h: true, in13h: true, childPaths: []string{"rule.or[0]", "rule.or[1]"},
			reaches: []segment.Reach{{Path: "rule.or[1].event", Days: 7}},
		},
		{
			field: "not", rule: `{"not":{"inSegment":5}}`,
			broken: `{"not":{}}`, brokenPath: "rule.not",
			sql: "NOT (EXISTS (SELECT 1 FROM segment_members", members: []int{2, 3}, text: "NOT in segment 5",
			sources: []segment.Source{{Kind: segment.SourceSegment, Name: "5"}}, childPaths: []string{"rule.not"},
		},
		{
			field: "inSegment", rule: `{"inSegment":5}`, broken: `{"inSegment":-1}`, brokenPath: "rule.inSegment",
			sql: "segment_members sm WHERE sm.segment_id = $2", members: []int{1}, observed: "member", text: "in segment 5",
			sources: []segment.Source{{Kind: segment.SourceSegment, Name: "5"}},
		},
		{
			field: "trait", rule: `{"trait":{"key":"plan","op":"IN","values":["pro","team"]}}`,
			broken: `{"trait":{"key":"","op":"EXISTS"}}`, brokenPath: "rule.trait.key",
			sql: "u.traits->$2", members: []int{1}, observed: `plan = "pro"`, text: `trait plan in ("pro", "team")`,
			sources: []segment.Source{{Kind: segment.SourceTrait, Name: "plan"}},
		},
		{
			// The drift this table was written for: the count observed is
			// the count compared, where filter included.
			field: "event", rule: `{"event":{"name":"export","where":[{"property":"format","op":"EQ","value":"csv"}],"count":{"op":"GTE","value":2},"withinDays":7}}`,
			broken: `{"event":{"name":"export","count":{"op":"GTE","value":-2}}}`, brokenPath: "rule.event.count.value",
			sql: "FROM events e WHERE", members: nil, observed: `export where format = "csv": 1 times in the last 7 days`,
			text:    `export ≥ 2 times where format = "csv" in the last 7 days`,
			sources: []segment.Source{{Kind: segment.SourceEvent, Name: "export"}}, crossesIn1h: true, in13h: true,
			reaches: []segment.Reach{{Path: "rule.event", Days: 7}},
		},
		{
			field: "activity", rule: `{"activity":{"activeDays":{"op":"GTE","value":2},"withinDays":7}}`,
			broken: `{"activity":{"activeDays":{"op":"GTE","value":8},"withinDays":7}}`, brokenPath: "rule.activity.activeDays.value",
			sql: "FROM user_daily_activities", members: []int{1}, observed: "active 2 days of the last 7", text: "active ≥ 2 days of the last 7",
			sources: []segment.Source{{Kind: segment.SourceEvent}}, crossesIn1h: false, in13h: true,
			reaches: []segment.Reach{{Path: "rule.activity", Days: 7}},
		},
		{
			field: "firstSeen", rule: `{"firstSeen":{"withinDays":30}}`, broken: `{"firstSeen":{}}`, brokenPath: "rule.firstSeen.withinDays",
			sql: "u.first_seen_at >= $2", members: []int{2}, observed: "first seen 2026-05-01T12:00:00Z", text: "first seen in the last 30 days",
			sources: []segment.Source{{Kind: segment.SourceEvent}}, crossesIn1h: true, in13h: true,
		},
		{
			field: "lastSeen", rule: `{"lastSeen":{"withinDays":5}}`, broken: `{"lastSeen":{}}`, brokenPath: "rule.lastSeen",
			sql: "u.last_seen_at >= $2", members: []int{1}, observed: "last seen 2026-06-09T12:00:00Z", text: "last seen in the last 5 days",
			sources: []segment.Source{{Kind: segment.SourceEvent}}, crossesIn1h: true, in13h: true,
		},
		{
			field: "lastSeen", rule: `{"lastSeen":{"moreThanDaysAgo":5}}`, broken: `{"lastSeen":{"moreThanDaysAgo":0}}`, brokenPath: "rule.lastSeen.moreThanDaysAgo",
			sql: "u.last_seen_at < $2", members: []int{2}, observed: "last seen 2026-06-09T12:00:00Z", text: "not seen for more than 5 days",
			sources: []segment.Source{{Kind: segment.SourceEvent}}, crossesIn1h: true, in13h: true,
		},
		{
			field: "platform", rule: `{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":30}}`,
			broken: `{"platform":{"platform":"MOBILE","minShare":1.5,"withinDays":30}}`, brokenPath: "rule.platform.minShare",
			sql: "e.platform = $2", members: []int{1}, observed: "2 of 2 events on MOBILE (100%)", text: "MOBILE ≥ 50% of events in the last 30 days",
			sources: []segment.Source{{Kind: segment.SourceEvent}}, crossesIn1h: true, in13h: true,
			reaches: []segment.Reach{{Path: "rule.platform", Days: 30}},
		},
		{
			field: "feedback", rule: `{"feedback":{"kind":"BUG","npsCategory":"PROMOTER","withinDays":30}}`,
			broken: `{"feedback":{"npsCategory":"FAN"}}`, brokenPath: "rule.feedback.npsCategory",
			sql: "f.nps_score IS NOT NULL", members: []int{1}, observed: "latest NPS score 10, 1 matching feedback in the last 30 days",
			text:    "latest NPS is promoter and BUG feedback ≥ 1 times in the last 30 days",
			sources: []segment.Source{{Kind: segment.SourceFeedback}}, crossesIn1h: true, in13h: true,
			reaches: []segment.Reach{{Path: "rule.feedback", Days: 30}},
		},
		{
			field: "survey", rule: `{"survey":{"surveyId":7,"questionId":8,"answerIn":["dev"],"withinDays":30}}`,
			broken: `{"survey":{"surveyId":7,"score":{"op":"GT","value":8}}}`, brokenPath: "rule.survey.questionId",
			sql: "FROM survey_responses r WHERE", members: []int{1}, observed: `latest response 2026-06-09T12:00:00Z: "dev"`,
			text:    `answered survey 7 with question 8 in ("dev") in the last 30 days`,
			sources: []segment.Source{{Kind: segment.SourceSurvey, Name: "7"}}, crossesIn1h: true, in13h: true,
			reaches: []segment.Reach{{Path: "rule.survey", Days: 30}},
		},
	}
}

// TestEveryKindHasEveryPart exercises each part of each kind of node with
// real values: validation (a valid and a broken node), compilation (the
// SQL the kind contributes), evaluation, what Explain observes for user 1,
// text, sources, the history it reaches, and whether the clock passing
// midnight UTC (13 hours after partsNow) or only one hour can move someone.
func TestEveryKindHasEveryPart(t *testing.T) {
	t.Parallel()
	for _, tc := range partsCases() {
		t.Run(tc.field+" "+tc.rule, func(t *testing.T) {
			t.Parallel()
			r := decode(t, tc.rule)
			require.NoError(t, segment.Validate(r))
			broken, err := segment.Decode([]byte(tc.broken))
			require.NoError(t, err)
			var verr *segment.ValidationError
			require.ErrorAs(t, segment.Validate(broken), &verr)
			require.Equal(t, tc.brokenPath, verr.Field)

			env := segment.Env{ProjectID: 1, Now: partsNow, Location: time.UTC}
			q, err := segment.Compile(r, env)
			require.NoError(t, err)
			require.Contains(t, q.SQL, tc.sql)

			d := partsData()
			require.Equal(t, tc.members, segment.Evaluate(r, d, env))
			x := segment.Explain(r, d, env)
			require.Equal(t, tc.observed, x.Observed)
			require.Equal(t, tc.text, x.Text)
			require.Equal(t, tc.text, segment.Text(r))
			var paths []string
			for _, child := range x.Children {
				paths = append(paths, child.Path)
			}
			require.Equal(t, tc.childPaths, paths)
			require.Equal(t, tc.sources, segment.Sources(r))
			require.Equal(t, tc.reaches, segment.Reaches(r))

			for _, window := range []struct {
				to    time.Duration
				cross bool
			}{{time.Hour, tc.crossesIn1h}, {13 * time.Hour, tc.in13h}} {
				c, err := segment.Crossers(r, env, partsNow, partsNow.Add(window.to))
				require.NoError(t, err)
				require.Equal(t, window.cross, c.SQL != "", "crossers over %s: %q", window.to, c.SQL)
			}
		})
	}
}

// TestPartsTableCoversEveryField: TestEveryKindHasEveryPart has a case for
// every field of Rule.
func TestPartsTableCoversEveryField(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, tc := range partsCases() {
		covered[tc.field] = true
		require.Equal(t, []string{tc.field}, topFields(t, tc.rule), "case %s sets its field", tc.field)
	}
	typ := reflect.TypeFor[segment.Rule]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		require.True(t, covered[name], "no case of %s in the parts table", name)
	}
}

// topFields are the fields set at the top of a rule's JSON.
func topFields(t *testing.T, rule string) []string {
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(rule), &top))
	var fields []string
	for f := range top {
		fields = append(fields, f)
	}
	return fields
}

func decode(t *testing.T, rule string) *segment.Rule {
	t.Helper()
	r, err := segment.Decode([]byte(rule))
	require.NoError(t, err)
	return r
}
