package ingest_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	posthog "github.com/posthog/posthog-go"
	analytics "github.com/segmentio/analytics-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// The tests in this file point the real Go SDKs at Pulse, configured only
// as their documentation says to point them at another host, and check
// what Pulse stored. SDKs look at nothing but the HTTP status, so the
// answers are also read on the wire: a message Pulse refused inside a
// successful batch would otherwise go unnoticed.

// sdkBundle is Pulse's ingestion API over a real database, with two
// projects: the SDK writes with the first's key, and the second must see
// none of it.
type sdkBundle struct {
	db            *sql.DB
	server        *httptest.Server
	project       *auth.NewProject
	otherProject  *auth.NewProject
	answers       answerRecorder
	sdkHTTPClient *http.Client
}

func setupSDK(t *testing.T) *sdkBundle {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	project, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	other, err := auth.CreateProject(context.Background(), client, t.Name()+" (other)")
	require.NoError(t, err)
	server := httptest.NewServer(ingest.NewHTTPHandler(auth.NewKeys(client), ingest.NewWriter(db), slog.New(slog.DiscardHandler)))
	t.Cleanup(server.Close)
	b := &sdkBundle{db: db, server: server, project: project, otherProject: other}
	b.sdkHTTPClient = &http.Client{Transport: &b.answers}
	return b
}

// answerRecorder is an http.RoundTripper that keeps every answer Pulse
// gave the SDK.
type answerRecorder struct {
	mu      sync.Mutex
	answers []answer
}

type answer struct {
	request string // method and path
	status  int
	body    []byte
}

func (r *answerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read Pulse's answer: %w", err)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = append(r.answers, answer{request: req.Method + " " + req.URL.Path, status: res.StatusCode, body: body})
	return res, nil
}

// requireAllAccepted checks that every request was answered 200 with
// nothing rejected, and returns how many messages Pulse accepted.
func (r *answerRecorder) requireAllAccepted(t *testing.T) int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.answers, "the SDK sent nothing")
	accepted := 0
	for _, a := range r.answers {
		require.Equal(t, http.StatusOK, a.status, "%s: %s", a.request, a.body)
		var res struct {
			Accepted int               `json:"accepted"`
			Rejected []json.RawMessage `json:"rejected"`
		}
		require.NoError(t, json.Unmarshal(a.body, &res), "%s: %s", a.request, a.body)
		require.Empty(t, res.Rejected, "%s: %s", a.request, a.body)
		accepted += res.Accepted
	}
	return accepted
}

// deliveryRecorder is both SDKs' delivery callback.
type deliveryRecorder struct {
	mu        sync.Mutex
	delivered int
	failures  []string
}

func (d *deliveryRecorder) success() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.delivered++
}

func (d *deliveryRecorder) failure(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failures = append(d.failures, err.Error())
}

type segmentCallback struct{ *deliveryRecorder }

func (c segmentCallback) Success(analytics.Message)            { c.success() }
func (c segmentCallback) Failure(_ analytics.Message, e error) { c.failure(e) }

type posthogCallback struct{ *deliveryRecorder }

func (c posthogCallback) Success(posthog.APIMessage)            { c.success() }
func (c posthogCallback) Failure(_ posthog.APIMessage, e error) { c.failure(e) }

// testLogger sends an SDK's log to the test's.
type testLogger struct{ t *testing.T }

func (l testLogger) Logf(format string, args ...any)   { l.t.Logf("sdk: "+format, args...) }
func (l testLogger) Errorf(format string, args ...any) { l.t.Logf("sdk error: "+format, args...) }

// goSDKUser is a user's profile and rollups as Pulse stored them.
type goSDKUser struct {
	events int
	traits string
	names  []string
}

func (b *sdkBundle) user(t *testing.T, externalID string) goSDKUser {
	t.Helper()
	var u goSDKUser
	var id int
	require.NoError(t, b.db.QueryRow(`SELECT id, event_count, COALESCE(traits::text, '{}') FROM users WHERE project_id = $1 AND external_id = $2`,
		b.project.Project.ID, externalID).Scan(&id, &u.events, &u.traits), "user %q", externalID)
	rows, err := b.db.Query(`SELECT name FROM events WHERE project_id = $1 AND user_id = $2 ORDER BY timestamp, id`, b.project.Project.ID, id)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		u.names = append(u.names, name)
	}
	require.NoError(t, rows.Err())
	return u
}

func (b *sdkBundle) eventColumn(t *testing.T, column, name string) string {
	t.Helper()
	var v string
	require.NoError(t, b.db.QueryRow(`SELECT `+column+` FROM events WHERE project_id = $1 AND name = $2`, b.project.Project.ID, name).Scan(&v),
		"%s of event %q", column, name)
	return v
}

// requireOtherProjectEmpty checks tenant isolation: nothing of what the
// SDK sent reached the second project.
func (b *sdkBundle) requireOtherProjectEmpty(t *testing.T) {
	t.Helper()
	var users, events int
	require.NoError(t, b.db.QueryRow(`SELECT (SELECT count(*) FROM users WHERE project_id = $1), (SELECT count(*) FROM events WHERE project_id = $1)`,
		b.otherProject.Project.ID).Scan(&users, &events))
	require.Zero(t, users+events, "the other project stores nothing")
}

// at is a time a few minutes ago: the SDK's clock and Pulse's agree, so
// these are stored as sent.
func at(minutesAgo int) time.Time {
	return time.Now().Add(-time.Duration(minutesAgo) * time.Minute).Truncate(time.Millisecond)
}

// TestAnalyticsGoSDK sends every Segment call type with analytics-go,
// pointed at Pulse by its Endpoint option, in batches of a few messages.
func TestAnalyticsGoSDK(t *testing.T) {
	t.Parallel()
	b := setupSDK(t)
	delivery := &deliveryRecorder{}
	client, err := analytics.NewWithConfig(b.project.Ingest.Secret, analytics.Config{
		Endpoint:   b.server.URL,
		BatchSize:  3,
		Transport:  b.sdkHTTPClient.Transport,
		Callback:   segmentCallback{delivery},
		Logger:     testLogger{t},
		RetryAfter: func(int) time.Duration { return time.Millisecond },
	})
	require.NoError(t, err)

	iPhone := &analytics.Context{Device: analytics.DeviceInfo{Type: "ios", Model: "iPhone15,2"}, OS: analytics.OSInfo{Name: "iOS", Version: "17.1"}}
	messages := []analytics.Message{
		analytics.Page{AnonymousId: "visitor-1", Name: "Pricing", Timestamp: at(9),
			Properties: analytics.NewProperties().SetURL("https://example.com/pricing").SetTitle("Pricing")},
		analytics.Identify{AnonymousId: "visitor-1", UserId: "ann", Timestamp: at(8),
			Traits: analytics.NewTraits().SetEmail("ann@example.com").Set("plan", "pro")},
		analytics.Track{UserId: "ann", Event: "Report Exported", Timestamp: at(7), Context: iPhone,
			Properties: analytics.NewProperties().Set("rows", 12).Set("format", "csv")},
		analytics.Screen{UserId: "ann", Name: "Home", Timestamp: at(6), Context: iPhone},
		analytics.Group{UserId: "ann", GroupId: "acme", Timestamp: at(5), Traits: analytics.NewTraits().SetName("Acme")},
		analytics.Track{UserId: "ann-legacy", Event: "Legacy Login", Timestamp: at(4)},
		analytics.Alias{PreviousId: "ann-legacy", UserId: "ann", Timestamp: at(3)},
	}
	for _, m := range messages {
		require.NoError(t, client.Enqueue(m))
	}
	require.NoError(t, client.Close(), "Close flushes every batch")

	require.Empty(t, delivery.failures)
	require.Equal(t, len(messages), delivery.delivered)
	require.Equal(t, len(messages), b.answers.requireAllAccepted(t))

	ann := b.user(t, "ann")
	require.Equal(t, []string{ingest.PageEventName, "Report Exported", ingest.ScreenEventName, "Legacy Login"}, ann.names,
		"the anonymous page view and the aliased user's history are ann's")
	require.Equal(t, 4, ann.events)
	require.Equal(t, "Pricing", b.eventColumn(t, "properties->>'name'", ingest.PageEventName))
	require.Equal(t, "https://example.com/pricing", b.eventColumn(t, "properties->>'url'", ingest.PageEventName))
	require.Equal(t, "Home", b.eventColumn(t, "properties->>'name'", ingest.ScreenEventName))
	require.JSONEq(t, `{"email": "ann@example.com", "plan": "pro", "groupId": "acme"}`, ann.traits)
	require.Equal(t, "MOBILE", b.eventColumn(t, "platform", "Report Exported"))
	require.JSONEq(t, `{"rows": 12, "format": "csv"}`, b.eventColumn(t, "properties::text", "Report Exported"))
	b.requireOtherProjectEmpty(t)
}

// TestPostHogGoSDK sends captures, an identify with $set and an alias with
// posthog-go, pointed at Pulse by its Endpoint option.
func TestPostHogGoSDK(t *testing.T) {
	t.Parallel()
	b := setupSDK(t)
	delivery := &deliveryRecorder{}
	client, err := posthog.NewWithConfig(b.project.Ingest.Secret, posthog.Config{
		Endpoint:   b.server.URL,
		BatchSize:  2,
		Transport:  b.sdkHTTPClient.Transport,
		Callback:   posthogCallback{delivery},
		Logger:     testLogger{t},
		RetryAfter: func(int) time.Duration { return time.Millisecond },
	})
	require.NoError(t, err)

	messages := []posthog.Message{
		posthog.Capture{DistinctId: "bob", Event: "invited teammate", Timestamp: at(9),
			Properties: posthog.NewProperties().Set("seats", 3).Set("$set", map[string]any{"role": "owner"})},
		posthog.Identify{DistinctId: "bob", Timestamp: at(8), Properties: posthog.NewProperties().Set("email", "bob@example.com")},
		posthog.Capture{DistinctId: "bob", Event: "$pageview", Timestamp: at(7),
			Properties: posthog.NewProperties().Set("$current_url", "https://example.com/app").Set("$os", "Android").Set("$device_type", "Mobile")},
		posthog.Capture{DistinctId: "bob-legacy", Event: "legacy login", Timestamp: at(6)},
		posthog.Alias{DistinctId: "bob", Alias: "bob-legacy", Timestamp: at(5)},
	}
	for _, m := range messages {
		require.NoError(t, client.Enqueue(m))
	}
	require.NoError(t, client.Close(), "Close flushes every batch")

	require.Empty(t, delivery.failures)
	require.Equal(t, len(messages), delivery.delivered)
	require.GreaterOrEqual(t, b.answers.requireAllAccepted(t), len(messages))

	bob := b.user(t, "bob")
	require.Equal(t, []string{"invited teammate", ingest.PageEventName, "legacy login"}, bob.names,
		"the aliased distinct id's history is bob's")
	require.Equal(t, 3, bob.events)
	require.JSONEq(t, `{"email": "bob@example.com", "role": "owner"}`, bob.traits)
	require.Equal(t, "https://example.com/app", b.eventColumn(t, "properties->>'name'", ingest.PageEventName))
	require.Equal(t, "MOBILE", b.eventColumn(t, "platform", ingest.PageEventName))
	require.Equal(t, "3", b.eventColumn(t, "properties->>'seats'", "invited teammate"))
	b.requireOtherProjectEmpty(t)
}
