package graph_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	updateProject   = `mutation($input: UpdateProjectInput!) { updateProject(input: $input) { name timezone realtime retentionDays } }`
	projectSettings = `{ viewer { project { name timezone realtime retentionDays } } }`
)

// requireInputError requires one BAD_USER_INPUT error about field whose
// message contains want.
func requireInputError(t *testing.T, res gqlResponse, field, want string) {
	t.Helper()
	require.Len(t, res.Errors, 1, "%+v", res)
	require.Equal(t, "BAD_USER_INPUT", res.code(), res.Errors[0].Message)
	require.Equal(t, field, res.Errors[0].Extensions["field"], res.Errors[0].Message)
	require.Contains(t, res.Errors[0].Message, want)
}

// TestUpdateProjectSettings: each field changes alone, absent fields stay,
// retentionDays null means unlimited; the change queues the retention's
// job only when it sets a retention.
func TestUpdateProjectSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	jobs := func() int {
		var n int
		require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'apply_retention' AND (args->>'project_id')::bigint = $1`, p.ID).Scan(&n))
		return n
	}
	name := t.Name()
	b.requireData(t, p.Read, projectSettings, nil, `{"viewer":{"project":{"name":"`+name+`","timezone":"UTC","realtime":true,"retentionDays":null}}}`)

	b.requireData(t, p.Admin, updateProject, map[string]any{"input": map[string]any{"retentionDays": 90}},
		`{"updateProject":{"name":"`+name+`","timezone":"UTC","realtime":true,"retentionDays":90}}`)
	require.Equal(t, 1, jobs(), "the job that applies it is queued")
	b.requireData(t, p.Admin, updateProject, map[string]any{"input": map[string]any{"name": "  Renamed  ", "timezone": "Europe/Paris"}},
		`{"updateProject":{"name":"Renamed","timezone":"Europe/Paris","realtime":true,"retentionDays":90}}`)
	b.requireData(t, p.Admin, `mutation { updateProject(input: {realtime: false, name: null}) { name realtime retentionDays } }`, nil,
		`{"updateProject":{"name":"Renamed","realtime":false,"retentionDays":90}}`)
	b.requireData(t, p.Admin, `mutation { updateProject(input: {retentionDays: null}) { retentionDays } }`, nil,
		`{"updateProject":{"retentionDays":null}}`)
	b.requireData(t, p.Read, projectSettings, nil, `{"viewer":{"project":{"name":"Renamed","timezone":"Europe/Paris","realtime":false,"retentionDays":null}}}`)
	require.Equal(t, 1, jobs(), "unlimited deletes nothing")
}

// TestUpdateProjectRefusesBadInput: each bad field is BAD_USER_INPUT
// naming it, and nothing changes.
func TestUpdateProjectRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		input map[string]any
		field string
		want  string
	}{
		{map[string]any{"retentionDays": 0}, "input.retentionDays", "between 1 and 36500 days"},
		{map[string]any{"retentionDays": 36501}, "input.retentionDays", "got 36501"},
		{map[string]any{"name": "  "}, "input.name", "must not be empty"},
		{map[string]any{"name": strings.Repeat("é", 201)}, "input.name", "at most 200 characters"},
		{map[string]any{"timezone": "Mars/Olympus"}, "input.timezone", `unknown time zone "Mars/Olympus"`},
		{map[string]any{"timezone": "Local"}, "input.timezone", "IANA time zone name"},
		{map[string]any{"timezone": ""}, "input.timezone", "IANA time zone name"},
		{map[string]any{"timezone": "europe/paris"}, "input.timezone", "unknown time zone"},
	} {
		t.Run(fmt.Sprint(tc.input), func(t *testing.T) {
			_, res := b.do(t, b.project.Admin, updateProject, map[string]any{"input": tc.input})
			requireInputError(t, res, tc.field, tc.want)
		})
	}
	b.requireData(t, b.project.Read, projectSettings, nil,
		`{"viewer":{"project":{"name":"`+t.Name()+`","timezone":"UTC","realtime":true,"retentionDays":null}}}`)
	b.requireData(t, b.project.Admin, updateProject, map[string]any{"input": map[string]any{"name": strings.Repeat("é", 200)}},
		`{"updateProject":{"name":"`+strings.Repeat("é", 200)+`","timezone":"UTC","realtime":true,"retentionDays":null}}`)
}

// TestUpdateProjectNeedsAdmin: READ and INGEST keys cannot change the
// settings, and an ADMIN key changes its own project only.
func TestUpdateProjectNeedsAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.newProject(t, t.Name()+" other")
	for _, key := range []string{b.project.Read, b.project.Ingest} {
		_, res := b.do(t, key, updateProject, map[string]any{"input": map[string]any{"retentionDays": 7, "name": "taken"}})
		require.Equal(t, "FORBIDDEN", res.code())
	}
	b.requireData(t, other.Admin, updateProject, map[string]any{"input": map[string]any{"retentionDays": 7}},
		`{"updateProject":{"name":"`+t.Name()+` other","timezone":"UTC","realtime":true,"retentionDays":7}}`)
	b.requireData(t, b.project.Read, projectSettings, nil,
		`{"viewer":{"project":{"name":"`+t.Name()+`","timezone":"UTC","realtime":true,"retentionDays":null}}}`)
}

// TestRetentionAndSegmentWindows: a retention shorter than what an active
// segment reads is refused, naming the segments; archived ones do not
// count. With a retention set, rules reading further back are refused at
// the withinDays of the offending condition, in definitions and previews;
// profile conditions take any window.
func TestRetentionAndSegmentWindows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	create := func(name, rule string) (string, gqlResponse) {
		_, res := b.do(t, p.Admin, `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`,
			map[string]any{"input": map[string]any{"name": name, "rule": jsonValue(t, rule)}})
		var out struct{ CreateSegment struct{ ID string } }
		if len(res.Errors) == 0 {
			require.NoError(t, jsonUnmarshal(res.Data, &out))
		}
		return out.CreateSegment.ID, res
	}
	quarterly, res := create("Quarterly exporters", `{"event":{"name":"export","withinDays":90}}`)
	require.Empty(t, res.Errors)
	ever, res := create("Ever gave feedback", `{"and":[{"trait":{"key":"plan","op":"EXISTS"}},{"feedback":{}}]}`)
	require.Empty(t, res.Errors)
	_, res = create("Dormant", `{"lastSeen":{"moreThanDaysAgo":400}}`)
	require.Empty(t, res.Errors)

	_, res = b.do(t, p.Admin, updateProject, map[string]any{"input": map[string]any{"retentionDays": 30}})
	requireInputError(t, res, "input.retentionDays", fmt.Sprintf(`segments %s "Quarterly exporters" (90 days), %s "Ever gave feedback" (all history) read further back than 30 days`, quarterly, ever))
	b.requireData(t, p.Admin, `mutation($id: ID!) { archiveSegment(id: $id) { id } }`, map[string]any{"id": ever}, `{"archiveSegment":{"id":"`+ever+`"}}`)
	_, res = b.do(t, p.Admin, updateProject, map[string]any{"input": map[string]any{"retentionDays": 60}})
	requireInputError(t, res, "input.retentionDays", fmt.Sprintf(`segment %s "Quarterly exporters" (90 days) reads further back than 60 days`, quarterly))
	b.requireData(t, p.Admin, updateProject, map[string]any{"input": map[string]any{"retentionDays": 90}},
		`{"updateProject":{"name":"`+t.Name()+`","timezone":"UTC","realtime":true,"retentionDays":90}}`)

	_, res = create("Half-yearly", `{"or":[{"firstSeen":{"withinDays":365}},{"event":{"name":"export","withinDays":180}}]}`)
	requireInputError(t, res, "input.rule.or[1].event.withinDays", "must be at most 90: the project keeps 90 days")
	sv := createSurveyFixture(t, b, p, "ACTIVE")
	_, res = create("All time", `{"not":{"survey":{"surveyId":"`+sv.ID+`"}}}`)
	requireInputError(t, res, "input.rule.not.survey.withinDays", "is required: the project keeps 90 days")
	_, res = b.do(t, p.Admin, `mutation($id: ID!, $input: UpdateSegmentInput!) { updateSegment(id: $id, input: $input) { id } }`,
		map[string]any{"id": quarterly, "input": map[string]any{"rule": jsonValue(t, `{"activity":{"activeDays":{"op":"GTE","value":3},"withinDays":91}}`)}})
	requireInputError(t, res, "input.rule.activity.withinDays", "got 91")
	_, res = b.do(t, p.Read, `query($rule: RuleInput!) { previewSegment(rule: $rule) { size } }`,
		map[string]any{"rule": jsonValue(t, `{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":120}}`)})
	requireInputError(t, res, "rule.platform.withinDays", "must be at most 90")
	_, res = create("Within", `{"and":[{"event":{"name":"export","withinDays":90}},{"lastSeen":{"withinDays":1000}}]}`)
	require.Empty(t, res.Errors)
}

// TestIngestRefusesWhatTheRetentionDeletes: track and ingestEvents, and
// feedback and survey answers with an explicit timestamp, older than the
// retention are refused at their timestamp; recent ones are stored.
func TestIngestRefusesWhatTheRetentionDeletes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	sv := createSurveyFixture(t, b, p, "ACTIVE")
	b.requireData(t, p.Admin, `mutation { updateProject(input: {retentionDays: 14}) { retentionDays } }`, nil, `{"updateProject":{"retentionDays":14}}`)
	old := time.Now().Add(-15 * 24 * time.Hour).UTC().Truncate(time.Second)
	reason := old.Format(time.RFC3339) + " is older than the project's retention of 14 days"

	_, res := b.do(t, p.Ingest, `mutation($at: Time!) { track(input: {userId: "ann", event: "export", timestamp: $at}) { accepted } }`,
		map[string]any{"at": old})
	requireInputError(t, res, "input.timestamp", reason)

	var out struct{ IngestEvents ingestOut }
	b.query(t, p.Ingest, `mutation($events: [EventInput!]!) {
	  ingestEvents(events: $events) { accepted duplicates rejected { index idempotencyKey field reason } } }`,
		map[string]any{"events": []any{
			map[string]any{"userId": "ann", "event": "export", "idempotencyKey": "r1", "timestamp": old},
			map[string]any{"userId": "ann", "event": "export", "idempotencyKey": "r2"},
		}}, &out)
	require.Equal(t, 1, out.IngestEvents.Accepted)
	require.Len(t, out.IngestEvents.Rejected, 1)
	require.Equal(t, 0, out.IngestEvents.Rejected[0].Index)
	require.Equal(t, "timestamp", out.IngestEvents.Rejected[0].Field)
	require.Equal(t, reason, out.IngestEvents.Rejected[0].Reason)

	_, res = b.do(t, p.Ingest, submitFeedback, map[string]any{"input": map[string]any{"userId": "ann", "text": "old news", "timestamp": old}})
	requireInputError(t, res, "input.timestamp", reason)
	_, res = b.do(t, p.Ingest, submitResponse, map[string]any{"input": map[string]any{"surveyId": sv.ID, "userId": "ann", "timestamp": old,
		"answers": []any{map[string]any{"questionId": sv.NPS, "score": 9}}}})
	requireInputError(t, res, "input.timestamp", reason)
	recent := time.Now().Add(-13 * 24 * time.Hour)
	_, res = b.do(t, p.Ingest, submitFeedback, map[string]any{"input": map[string]any{"userId": "ann", "text": "recent", "timestamp": recent}})
	require.Empty(t, res.Errors)
	require.Len(t, b.feedbacks(t), 1)
}

// jsonValue decodes a JSON literal for a variable.
func jsonValue(t *testing.T, raw string) any {
	t.Helper()
	var v any
	require.NoError(t, jsonUnmarshal([]byte(raw), &v))
	return v
}
