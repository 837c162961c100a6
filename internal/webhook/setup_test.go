package webhook_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testSchedule replaces the retry schedule's hours with milliseconds: ten
// attempts, the first at once.
var testSchedule = []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond,
	20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}

// One River client works every test's deliveries (each test has its own
// project, endpoints and receivers), over https to receivers on 127.0.0.1
// that httptest's certificate authority signs.
var (
	clientOnce sync.Once
	client     *river.Client[*sql.Tx]
	clientErr  error
	trust      *tls.Config
	metricsMu  sync.Mutex
	attempts   = map[int][]string{} // outcomes by endpoint, as OnAttempt saw them
)

func riverClient(t *testing.T) *river.Client[*sql.Tx] {
	t.Helper()
	clientOnce.Do(func() {
		// Every httptest TLS server has the same certificate.
		probe := httptest.NewTLSServer(http.NotFoundHandler())
		pool := x509.NewCertPool()
		pool.AddCert(probe.Certificate())
		probe.Close()
		trust = &tls.Config{RootCAs: pool, ServerName: "example.com", MinVersion: tls.VersionTLS12}
		opts := webhook.Options{
			Client:        webhook.NewClient(webhook.ClientOptions{AllowPrivate: true, TLS: trust}),
			RetrySchedule: testSchedule,
			SweepPeriod:   -1,
			OnAttempt: func(endpointID int, outcome string, _ time.Duration) {
				metricsMu.Lock()
				defer metricsMu.Unlock()
				attempts[endpointID] = append(attempts[endpointID], outcome)
			},
		}
		var c *jobs.Client
		c, clientErr = jobs.NewClient(pgtest.DB(t), jobs.Config{Work: true, PollInterval: 20 * time.Millisecond,
			SchedulePeriod: -1, ReconcilePeriod: -1, SweepPeriod: -1, RescueInterval: 200 * time.Millisecond, Webhooks: opts})
		if clientErr == nil {
			client, clientErr = c.River, c.Start(context.Background())
		}
	})
	require.NoError(t, clientErr)
	return client
}

// outcomes are the attempts' outcomes reported for an endpoint.
func outcomes(endpointID int) []string {
	metricsMu.Lock()
	defer metricsMu.Unlock()
	return append([]string(nil), attempts[endpointID]...)
}

// bundle is one test's project and what it needs to move its segments.
type bundle struct {
	db        *sql.DB
	projectID int
	project   *auth.NewProject
	ctx       context.Context
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	riverClient(t)
	return newProject(t, db, t.Name())
}

func newProject(t *testing.T, db *sql.DB, name string) *bundle {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), name)
	require.NoError(t, err)
	return &bundle{db: db, projectID: created.Project.ID, project: created, ctx: context.Background()}
}

// users creates users with external ids and the trait plan.
func (b *bundle) users(t *testing.T, externalIDs ...string) {
	t.Helper()
	_, err := b.db.Exec(`INSERT INTO users (project_id, external_id, traits, event_count, created_at, updated_at)
		SELECT $1, x, jsonb_build_object('plan', 'pro', 'name', x), 0, now(), now() FROM unnest($2::text[]) x`,
		b.projectID, pq.Array(externalIDs))
	require.NoError(t, err)
}

// userIDs are the ids of users by external id, sorted.
func (b *bundle) userIDs(t *testing.T, externalIDs ...string) []int64 {
	t.Helper()
	var ids pq.Int64Array
	require.NoError(t, b.db.QueryRow(`SELECT array_agg(id ORDER BY id) FROM users WHERE project_id = $1 AND external_id = ANY($2)`,
		b.projectID, pq.Array(externalIDs)).Scan(&ids))
	return ids
}

// staticSegment creates a STATIC segment: its members move only when the
// test says, each change one committed run.
func (b *bundle) staticSegment(t *testing.T, name string) int {
	t.Helper()
	var id int
	require.NoError(t, b.db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, refresh_interval_seconds, status, size, definition_version, created_at, updated_at)
		VALUES ($1, $2, '', 'STATIC', 900, 'READY', 0, 1, now(), now()) RETURNING id`, b.projectID, name).Scan(&id))
	return id
}

// move adds (or removes) users to a static segment as one run, and returns
// the run's id.
func (b *bundle) move(t *testing.T, segmentID int, remove bool, externalIDs ...string) int {
	t.Helper()
	run, err := recompute.ChangeStatic(b.ctx, b.db, b.projectID, segmentID, externalIDs, remove)
	require.NoError(t, err)
	return run
}

// endpointSpec is an endpoint as a test creates it.
type endpointSpec struct {
	kind      string
	url       string
	segments  []int
	events    []string
	batchSize int
	secret    string
	previous  string
	until     time.Time
	writeKey  string
}

// endpoint creates an endpoint of the project (defaults: a WEBHOOK for
// every segment and event, batches of 100, secretNew).
func (b *bundle) endpoint(t *testing.T, spec endpointSpec) int {
	t.Helper()
	if spec.kind == "" {
		spec.kind = "WEBHOOK"
	}
	if spec.events == nil {
		spec.events = []string{webhook.EventEntered, webhook.EventExited, webhook.EventRunFailed}
	}
	if spec.segments == nil {
		spec.segments = []int{}
	}
	if spec.batchSize == 0 {
		spec.batchSize = 100
	}
	if spec.secret == "" {
		spec.secret = secretNew
	}
	segments, err := json.Marshal(spec.segments)
	require.NoError(t, err)
	events, err := json.Marshal(spec.events)
	require.NoError(t, err)
	var previous, writeKey *string
	var until *time.Time
	if spec.previous != "" {
		previous, until = &spec.previous, &spec.until
	}
	if spec.writeKey != "" {
		writeKey = &spec.writeKey
	}
	var id int
	require.NoError(t, b.db.QueryRow(`INSERT INTO webhook_endpoints (project_id, kind, url, description, segment_ids, events, batch_size,
		secret, previous_secret, previous_secret_until, write_key, created_at, updated_at)
		VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, $9, $10, now(), now()) RETURNING id`,
		b.projectID, spec.kind, spec.url, segments, events, spec.batchSize, spec.secret, previous, until, writeKey).Scan(&id))
	return id
}

// messageRow is a message as stored.
type messageRow struct {
	ID        int
	WebhookID string
	Type      string
	Segment   int
	Seq, Part int
	State     string
	Attempts  int
}

func (b *bundle) messages(t *testing.T, endpointID int) []messageRow {
	t.Helper()
	rows, err := b.db.Query(`SELECT id, webhook_id, type, segment_id, seq, part, state, attempts FROM webhook_messages
		WHERE endpoint_id = $1 ORDER BY segment_id, seq, id`, endpointID)
	require.NoError(t, err)
	defer rows.Close()
	var out []messageRow
	for rows.Next() {
		var m messageRow
		require.NoError(t, rows.Scan(&m.ID, &m.WebhookID, &m.Type, &m.Segment, &m.Seq, &m.Part, &m.State, &m.Attempts))
		out = append(out, m)
	}
	require.NoError(t, rows.Err())
	return out
}

// settled waits until no message of the endpoint is pending, and returns
// them.
func (b *bundle) settled(t *testing.T, endpointID int) []messageRow {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs := b.messages(t, endpointID)
		pending := 0
		for _, m := range msgs {
			if m.State == "PENDING" {
				pending++
			}
		}
		if pending == 0 {
			return msgs
		}
		require.True(t, time.Now().Before(deadline), "%d messages of endpoint %d still pending: %+v", pending, endpointID, msgs)
		time.Sleep(20 * time.Millisecond)
	}
}

// receiver is a real HTTP receiver over TLS: it records every request and
// answers with what answer says for the n-th (0-based).
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	requests []received
	arrived  chan struct{}
}

func newReceiver(t *testing.T, answer func(n int, r *http.Request) int) *receiver {
	t.Helper()
	rc := &receiver{arrived: make(chan struct{}, 1024)}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		n := len(rc.requests)
		rc.requests = append(rc.requests, received{Secret: secretNew, Headers: r.Header.Clone(), Body: body})
		rc.mu.Unlock()
		status := http.StatusOK
		if answer != nil {
			status = answer(n, r)
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", n)
		rc.arrived <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) url() string { return rc.srv.URL + "/hooks/pulse" }

// wait waits until the receiver has answered n requests in all, and
// returns them.
func (rc *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		rc.mu.Lock()
		got := len(rc.requests)
		rc.mu.Unlock()
		if got >= n {
			return rc.all()
		}
		select {
		case <-rc.arrived:
		case <-timeout:
			t.Fatalf("the receiver got %d requests, want %d", got, n)
		}
	}
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

// body is a webhook's JSON body as a receiver reads it.
type body struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		Segment struct{ ID, Name string }
		Run     struct {
			ID  string
			Seq *int
		}
		Users []struct {
			ID         string
			ExternalID *string
			Traits     map[string]any
		}
		Error string
	}
}

func decode(t *testing.T, r received) body {
	t.Helper()
	var b body
	require.NoError(t, json.Unmarshal(r.Body, &b), "%s", r.Body)
	return b
}

// externalIDs are the external ids of a body's users, in order.
func (b body) externalIDs() []string {
	var ids []string
	for _, u := range b.Data.Users {
		if u.ExternalID != nil {
			ids = append(ids, *u.ExternalID)
		}
	}
	return ids
}

func itoa(n int) string { return strconv.Itoa(n) }
