package ingest_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/httplog"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// The SDK tests (sdk_go_test.go, sdk_node_test.go, sdk_browser_test.go)
// point real SDKs at Pulse, configured only as their documentation says to
// point them at another host, and check what Pulse stored. This file holds
// what they share: Pulse over the real database, a record of what went over
// the wire, and readers of what was stored.

// sdkPulse is Pulse's ingestion API over the real database, as the SDKs
// see it, with two projects: the SDK writes with the first's ingest key,
// and the second must see none of it.
type sdkPulse struct {
	db      *sql.DB
	server  *httptest.Server
	project *auth.NewProject
	other   *auth.NewProject
	wire    *wireLog
}

func setupSDKPulse(t *testing.T) *sdkPulse {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	project, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	other, err := auth.CreateProject(context.Background(), client, t.Name()+" (other)")
	require.NoError(t, err)
	p := &sdkPulse{db: db, project: project, other: other, wire: &wireLog{}}
	p.server = httptest.NewServer(p.wire.record(ingest.NewHTTPHandler(auth.NewKeys(client), ingest.NewWriter(db), slog.New(slog.DiscardHandler))))
	t.Cleanup(p.server.Close)
	return p
}

// wireLog records every exchange with Pulse. SDKs look at nothing but the
// status, and Pulse answers 200 to a batch in which it refused messages,
// listing them in "rejected": only the answers themselves show those.
type wireLog struct {
	mu        sync.Mutex
	exchanges []wireExchange
}

type wireExchange struct {
	Method, URI         string
	Origin, ContentType string // of the request
	Status              int
	Body                string // of the answer
}

func (e wireExchange) String() string {
	return fmt.Sprintf("%s %s (Origin %q, Content-Type %q) → %d %s", e.Method, e.URI, e.Origin, e.ContentType, e.Status, strings.TrimSpace(e.Body))
}

func (l *wireLog) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &wireWriter{StatusRecorder: httplog.NewStatusRecorder(w)}
		next.ServeHTTP(rec, r)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.exchanges = append(l.exchanges, wireExchange{Method: r.Method, URI: r.RequestURI, Origin: r.Header.Get("Origin"),
			ContentType: r.Header.Get("Content-Type"), Status: rec.Status, Body: rec.body.String()})
	})
}

func (l *wireLog) all() []wireExchange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]wireExchange(nil), l.exchanges...)
}

// requireAllAccepted fails unless every answer was a success that refused
// nothing, and returns the exchanges.
func (l *wireLog) requireAllAccepted(t *testing.T) []wireExchange {
	t.Helper()
	exchanges := l.all()
	require.NotEmpty(t, exchanges, "the SDK sent nothing to Pulse")
	for _, e := range exchanges {
		require.True(t, e.Status >= 200 && e.Status < 300, "Pulse refused a request: %s", e)
		if e.Method != http.MethodPost {
			continue
		}
		var answer struct {
			Rejected []ingest.Rejection `json:"rejected"`
		}
		require.NoError(t, json.Unmarshal([]byte(e.Body), &answer), "answer to %s", e)
		require.Empty(t, answer.Rejected, "Pulse rejected messages: %s", e)
	}
	return exchanges
}

// wireWriter keeps the answer's body besides its status.
type wireWriter struct {
	*httplog.StatusRecorder
	body bytes.Buffer
}

func (w *wireWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.StatusRecorder.Write(b)
}

// sdkEvent is a row of events, with its user's external id ("" for an
// anonymous user).
type sdkEvent struct {
	Name       string
	User       string
	Properties map[string]any
	Platform   string
}

func (e sdkEvent) String() string {
	props, _ := json.Marshal(e.Properties)
	return fmt.Sprintf("%q of %q on %s %s", e.Name, e.User, e.Platform, props)
}

// events returns a project's events, oldest first.
func (p *sdkPulse) events(t *testing.T, project *auth.NewProject) []sdkEvent {
	t.Helper()
	rows, err := p.db.Query(`SELECT e.name, COALESCE(u.external_id, ''), e.properties::text, e.platform
		FROM events e JOIN users u ON u.id = e.user_id
		WHERE e.project_id = $1 ORDER BY e.timestamp, e.id`, project.Project.ID)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	var events []sdkEvent
	for rows.Next() {
		var e sdkEvent
		var props string
		require.NoError(t, rows.Scan(&e.Name, &e.User, &props, &e.Platform))
		require.NoError(t, json.Unmarshal([]byte(props), &e.Properties))
		events = append(events, e)
	}
	require.NoError(t, rows.Err())
	return events
}

// event returns the one event of a name, failing unless there is exactly one.
func (p *sdkPulse) event(t *testing.T, name string) sdkEvent {
	t.Helper()
	var found []sdkEvent
	all := p.events(t, p.project)
	for _, e := range all {
		if e.Name == name {
			found = append(found, e)
		}
	}
	require.Len(t, found, 1, "events named %q among %v", name, all)
	return found[0]
}

// sdkUser is a row of users.
type sdkUser struct {
	ExternalID string // "" for an anonymous user
	EventCount int
	Traits     map[string]any
}

// users returns a project's users, by external id; anonymous users are
// under "(anonymous N)".
func (p *sdkPulse) users(t *testing.T, project *auth.NewProject) map[string]sdkUser {
	t.Helper()
	rows, err := p.db.Query(`SELECT COALESCE(external_id, ''), event_count, COALESCE(traits, '{}')::text
		FROM users WHERE project_id = $1 ORDER BY id`, project.Project.ID)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	users := map[string]sdkUser{}
	for rows.Next() {
		var u sdkUser
		var traits string
		require.NoError(t, rows.Scan(&u.ExternalID, &u.EventCount, &traits))
		require.NoError(t, json.Unmarshal([]byte(traits), &u.Traits))
		key := u.ExternalID
		if key == "" {
			key = fmt.Sprintf("(anonymous %d)", len(users))
		}
		users[key] = u
	}
	require.NoError(t, rows.Err())
	return users
}

// identities returns a project's anonymous ids and the external id of the
// user each belongs to.
func (p *sdkPulse) identities(t *testing.T, project *auth.NewProject) map[string]string {
	t.Helper()
	rows, err := p.db.Query(`SELECT i.anonymous_id, COALESCE(u.external_id, '')
		FROM identities i JOIN users u ON u.id = i.user_id WHERE i.project_id = $1`, project.Project.ID)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	ids := map[string]string{}
	for rows.Next() {
		var anon, user string
		require.NoError(t, rows.Scan(&anon, &user))
		ids[anon] = user
	}
	require.NoError(t, rows.Err())
	return ids
}

// requireOtherProjectUntouched checks tenant isolation: the second
// project, whose key the SDK never had, has no users, events or identities.
func (p *sdkPulse) requireOtherProjectUntouched(t *testing.T) {
	t.Helper()
	require.Empty(t, p.users(t, p.other), "users in the other project")
	require.Empty(t, p.events(t, p.other), "events in the other project")
	require.Empty(t, p.identities(t, p.other), "identities in the other project")
}

// waitFor waits until what the project stored meets done, polling the
// database: browsers deliver on their own schedule. On timeout it fails
// listing what was stored and what went over the wire.
func (p *sdkPulse) waitFor(t *testing.T, ctx context.Context, what string, done func([]sdkEvent, map[string]sdkUser, map[string]string) bool) {
	t.Helper()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for {
		events, users, identities := p.events(t, p.project), p.users(t, p.project), p.identities(t, p.project)
		if done(events, users, identities) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v\nevents:\n%s\nusers: %v\nidentities: %v\nexchanges with Pulse:\n%s",
				what, ctx.Err(), sdkLines(events), users, identities, sdkLines(p.wire.all()))
		case <-ticker.C:
		}
	}
}

func hasSDKEvent(events []sdkEvent, name string) bool {
	for _, e := range events {
		if e.Name == name {
			return true
		}
	}
	return false
}

func sdkLines[T fmt.Stringer](items []T) string {
	lines := make([]string, len(items))
	for i, item := range items {
		lines[i] = "  " + item.String()
	}
	return strings.Join(lines, "\n")
}

// requireOnlyCalls checks that every exchange with Pulse was accepted and
// was call ("POST /v1/batch"): the one a server SDK documents.
func (p *sdkPulse) requireOnlyCalls(t *testing.T, call string) {
	t.Helper()
	for _, e := range p.wire.requireAllAccepted(t) {
		require.Equal(t, call, e.Method+" "+e.URI, "%s", e)
	}
}

// requireOwnedBy checks that every event is the user's.
func requireOwnedBy(t *testing.T, events []sdkEvent, externalID string) {
	t.Helper()
	for _, e := range events {
		require.Equal(t, externalID, e.User, "every event ends up %s's: %v", externalID, e)
	}
}
