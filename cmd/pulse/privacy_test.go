package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// privacyServer is a served Pulse with a project, its survey, and what a
// test sends through every ingestion path.
type privacyServer struct {
	base       string
	db         *sql.DB
	project    projectCreated
	surveyID   string
	questionID string
}

func setupPrivacyServer(t *testing.T) *privacyServer {
	t.Helper()
	dsn := pgtest.DSN(t)
	s := &privacyServer{base: serveInProcess(t, dsn, io.Discard, "--log-level", "warn"), db: pgtest.DB(t)}
	s.project = createProject(t, dsn, t.Name())
	var created struct {
		Data struct {
			CreateSurvey struct {
				ID        string
				Questions []struct{ ID string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, s.base, s.project.Keys.Admin, `mutation {
	  createSurvey(input: {name: "NPS", status: ACTIVE, questions: [{kind: NPS, prompt: "How likely?"}]}) { id questions { id } } }`, nil), &created))
	s.surveyID, s.questionID = created.Data.CreateSurvey.ID, created.Data.CreateSurvey.Questions[0].ID
	return s
}

// post sends body to path with key as a Bearer key and returns the
// status and the decoded JSON answer.
func (s *privacyServer) post(t *testing.T, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

// ingestPath is one way a message reaches Pulse, and what its answer
// reports of it: the number stored and the number suppressed.
type ingestPath struct {
	name, path, body string
	counts           func(out map[string]any) (accepted, suppressed float64)
}

// ingestPaths are every path that stores something about user (with
// anonymous id anon), tagged so each call is a new message.
func (s *privacyServer) ingestPaths(user, anon, tag string) []ingestPath {
	key := s.project.Keys.Ingest
	flat := func(out map[string]any) (float64, float64) {
		return out["accepted"].(float64), out["suppressed"].(float64)
	}
	gql := func(field string) func(out map[string]any) (float64, float64) {
		return func(out map[string]any) (float64, float64) {
			data := out["data"].(map[string]any)[field].(map[string]any)
			if suppressed, ok := data["suppressed"].(bool); ok { // submissions
				if suppressed {
					return 0, 1
				}
				return 1, 0
			}
			return data["accepted"].(float64), data["suppressed"].(float64)
		}
	}
	n := 0
	msg := func(fields string) string {
		n++
		return fmt.Sprintf(`{%s, "messageId": "%s-%d"}`, fields, tag, n)
	}
	query := func(q string) string { b, _ := json.Marshal(map[string]string{"query": q}); return string(b) }
	return []ingestPath{
		{"segment batch", "/v1/batch", fmt.Sprintf(`{"batch": [%s, %s]}`,
			msg(fmt.Sprintf(`"type": "identify", "userId": %q, "anonymousId": %q, "traits": {"plan": "pro"}`, user, anon)),
			msg(fmt.Sprintf(`"type": "track", "userId": %q, "event": "export"`, user))), flat},
		{"segment track", "/v1/track", msg(fmt.Sprintf(`"userId": %q, "event": "login"`, user)), flat},
		{"segment page", "/v1/page", msg(fmt.Sprintf(`"anonymousId": %q, "name": "pricing"`, anon)), flat},
		{"segment screen", "/v1/screen", msg(fmt.Sprintf(`"userId": %q, "name": "home"`, user)), flat},
		{"segment identify", "/v1/identify", msg(fmt.Sprintf(`"userId": %q, "traits": {"seen": true}`, user)), flat},
		{"segment group", "/v1/group", msg(fmt.Sprintf(`"userId": %q, "groupId": "acme"`, user)), flat},
		{"segment alias", "/v1/alias", msg(fmt.Sprintf(`"userId": %q, "previousId": "%s-old"`, user, user)), flat},
		{"posthog batch", "/batch/", fmt.Sprintf(`{"api_key": %q, "batch": [{"event": "played", "distinct_id": %q, "uuid": "%s-ph1"}]}`, key, user, tag), flat},
		{"posthog capture", "/capture/", fmt.Sprintf(`{"api_key": %q, "event": "paid", "distinct_id": %q, "properties": {"$device_id": %q}, "uuid": "%s-ph2"}`,
			key, anon, anon, tag), flat},
		{"graphql track", "/graphql", query(fmt.Sprintf(`mutation { track(input: {userId: %q, event: "export", idempotencyKey: "%s-g1"}) { accepted suppressed } }`, user, tag)), gql("track")},
		{"graphql identify", "/graphql", query(fmt.Sprintf(`mutation { identify(input: {anonymousId: %q, traits: {x: 1}, idempotencyKey: "%s-g2"}) { accepted suppressed } }`, anon, tag)), gql("identify")},
		{"graphql ingestEvents", "/graphql", query(fmt.Sprintf(`mutation { ingestEvents(events: [{type: SCREEN, userId: %q, name: "a", idempotencyKey: "%s-g3"}]) { accepted suppressed } }`, user, tag)), gql("ingestEvents")},
		{"graphql submitFeedback", "/graphql", query(fmt.Sprintf(`mutation { submitFeedback(input: {userId: %q, npsScore: 3, text: "slow"}) { id suppressed } }`, user)), gql("submitFeedback")},
		{"graphql submitSurveyResponse", "/graphql", query(fmt.Sprintf(`mutation { submitSurveyResponse(input: {surveyId: %q, userId: %q, answers: [{questionId: %q, score: 9}]}) { id suppressed } }`,
			s.surveyID, user, s.questionID)), gql("submitSurveyResponse")},
	}
}

// send posts every path and returns the messages stored and suppressed.
func (s *privacyServer) send(t *testing.T, paths []ingestPath) (accepted, suppressed []float64) {
	t.Helper()
	for _, p := range paths {
		status, out := s.post(t, p.path, s.project.Keys.Ingest, p.body)
		require.Equal(t, http.StatusOK, status, "%s: %v", p.name, out)
		require.Nil(t, out["errors"], "%s: %v", p.name, out)
		a, sup := p.counts(out)
		accepted, suppressed = append(accepted, a), append(suppressed, sup)
	}
	return accepted, suppressed
}

// TestSuppressionOnEveryIngestPath sends a user's messages through every
// ingestion path, erases the user with suppress, sends them again: every
// path drops them and says so, the metrics count them, nothing of the user
// is stored; unsuppressUser lets them in again.
func TestSuppressionOnEveryIngestPath(t *testing.T) {
	t.Parallel()
	s := setupPrivacyServer(t)
	user, anon := "eve-"+s.project.Project.ID, "eve-anon-"+s.project.Project.ID
	accepted, _ := s.send(t, s.ingestPaths(user, anon, "before"))
	for i, p := range s.ingestPaths(user, anon, "before") {
		require.Positive(t, accepted[i], "%s stores before the erasure", p.name)
	}

	out := graphqlPost(t, s.base, s.project.Keys.Admin, `mutation($id: String!) { deleteUser(externalId: $id, suppress: true) { suppressed } }`,
		map[string]any{"id": user})
	require.JSONEq(t, `{"data":{"deleteUser":{"suppressed":true}}}`, string(out))

	paths := s.ingestPaths(user, anon, "after")
	accepted, suppressed := s.send(t, paths)
	want := 0.0
	for i, p := range paths {
		require.Zero(t, accepted[i], "%s stores nothing", p.name)
		require.Positive(t, suppressed[i], "%s reports the suppressed messages", p.name)
		want += suppressed[i]
	}
	var users int
	require.NoError(t, s.db.QueryRow(`SELECT count(*) FROM users WHERE project_id = $1`, s.project.Project.ID).Scan(&users))
	require.Zero(t, users, "no user was stored again")

	m := scrapeMetrics(t, s.base+"/metrics")
	require.Equal(t, 1.0, m[`pulse_ingest_suppressed_total{source="feedback"}`])
	require.Equal(t, 1.0, m[`pulse_ingest_suppressed_total{source="survey"}`])
	require.Equal(t, want-2, m[`pulse_ingest_suppressed_total{source="events"}`])
	require.Equal(t, want-2, m[`pulse_ingest_messages_total{outcome="suppressed"}`])

	out = graphqlPost(t, s.base, s.project.Keys.Admin, `mutation($id: String!) { unsuppressUser(externalId: $id) { suppressed } }`,
		map[string]any{"id": anon})
	require.JSONEq(t, `{"data":{"unsuppressUser":[{"suppressed":false}]}}`, string(out))
	accepted, _ = s.send(t, s.ingestPaths(user, anon, "again"))
	for i, p := range paths {
		require.Positive(t, accepted[i], "%s stores again", p.name)
	}
}

// TestExportEndpoint: GET /v1/users/{externalId}/export streams the user's
// document to an ADMIN key of the user's project, and refuses the rest.
func TestExportEndpoint(t *testing.T) {
	t.Parallel()
	s := setupPrivacyServer(t)
	user, anon := "zoe-"+s.project.Project.ID, "zoe-anon-"+s.project.Project.ID
	s.send(t, s.ingestPaths(user, anon, "x"))
	other := createProject(t, pgtest.DSN(t), "other "+t.Name())

	get := func(externalID, key string) (int, http.Header, []byte) {
		req, err := http.NewRequest(http.MethodGet, s.base+"/v1/users/"+externalID+"/export", nil)
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, res.Header, body
	}
	status, header, body := get(user, s.project.Keys.Admin)
	require.Equal(t, http.StatusOK, status, string(body))
	require.Equal(t, "application/json; charset=utf-8", header.Get("Content-Type"))
	require.Equal(t, "no-store", header.Get("Cache-Control"))
	var doc struct {
		User struct {
			ExternalID string
			Traits     map[string]any
			EventCount int
		}
		Identities      []struct{ AnonymousID string }
		Events          []struct{ Name, MessageID string }
		DailyActivity   []struct{ Events int }
		Feedback        []struct{ Text string }
		SurveyResponses []struct {
			Answers []struct {
				Prompt string
				Score  int
			}
		}
		Memberships []any
	}
	require.NoError(t, json.Unmarshal(body, &doc), string(body))
	require.Equal(t, user, doc.User.ExternalID)
	require.Equal(t, "pro", doc.User.Traits["plan"])
	require.Len(t, doc.Events, doc.User.EventCount)
	require.Len(t, doc.Events, 8, "export, login, pricing, home, played, paid, export, the screen of ingestEvents")
	require.ElementsMatch(t, []string{anon, user + "-old"}, []string{doc.Identities[0].AnonymousID, doc.Identities[1].AnonymousID})
	require.Equal(t, "slow", doc.Feedback[0].Text)
	require.Equal(t, "How likely?", doc.SurveyResponses[0].Answers[0].Prompt)
	require.Equal(t, 9, doc.SurveyResponses[0].Answers[0].Score)
	require.NotNil(t, doc.Memberships)

	for _, tc := range []struct {
		name, id, key string
		status        int
		code          string
	}{
		{"no key", user, "", http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"a bad key", user, "pk_admin_nope", http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"a READ key", user, s.project.Keys.Read, http.StatusForbidden, "FORBIDDEN"},
		{"an unknown user", "nobody", s.project.Keys.Admin, http.StatusNotFound, "NOT_FOUND"},
		{"another project's ADMIN key", user, other.Keys.Admin, http.StatusNotFound, "NOT_FOUND"},
	} {
		status, _, body := get(tc.id, tc.key)
		require.Equal(t, tc.status, status, "%s: %s", tc.name, body)
		var e struct{ Error struct{ Code string } }
		require.NoError(t, json.Unmarshal(body, &e), tc.name)
		require.Equal(t, tc.code, e.Error.Code, tc.name)
	}
}
