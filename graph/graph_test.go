package graph_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	_ "github.com/pulse-analytics/pulse/ent/runtime"
	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/httplog"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/retention"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testProject is a project with a key of each role and a context scoped to it
// for seeding data directly.
type testProject struct {
	ID                  int
	Ingest, Read, Admin string
	ctx                 context.Context
}

// testBundle is what every GraphQL test needs: a real handler over a real
// database, and a project of its own.
type testBundle struct {
	db      *sql.DB
	client  *ent.Client
	server  *httptest.Server
	queries *atomic.Int64 // SQL statements run by requests, for N+1 checks
	// statements records the SQL of the statements requests run, while
	// a test records (see record).
	statements *statementLog
	project    *testProject
}

// statementLog is the SQL text of the statements run while it records.
type statementLog struct {
	mu        sync.Mutex
	recording bool
	sql       []string
}

func (l *statementLog) add(args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recording {
		l.sql = append(l.sql, fmt.Sprint(args...))
	}
}

// record returns the statements requests run during fn, as ent's debug
// driver prints them ("driver.Query: query=... args=...").
func (l *statementLog) record(fn func()) []string {
	l.mu.Lock()
	l.recording, l.sql = true, nil
	l.mu.Unlock()
	fn()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recording = false
	return l.sql
}

type queryCounterKey struct{}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return setupWith(t, graph.Options{})
}

func setupWith(t *testing.T, opts graph.Options) *testBundle {
	t.Helper()
	db := pgtest.DB(t)
	queries := &atomic.Int64{}
	statements := &statementLog{}
	drv := dialect.DebugWithContext(entsql.OpenDB(dialect.Postgres, db), func(ctx context.Context, args ...any) {
		if c, ok := ctx.Value(queryCounterKey{}).(*atomic.Int64); ok {
			c.Add(1)
			statements.add(args...)
		}
	})
	client := ent.NewClient(ent.Driver(drv))
	if opts.Recompute == nil {
		// Insert-only: runs are queued and stay PENDING; the recompute
		// package tests the workers.
		inserter, err := jobs.NewClient(db, jobs.Config{})
		require.NoError(t, err)
		opts.Recompute = recompute.NewEnqueuer(db, inserter.River)
		if opts.Discovery == nil {
			opts.Discovery = discovery.NewEnqueuer(db, inserter.River)
		}
		if opts.Retention == nil {
			opts.Retention = retention.NewEnqueuer(inserter.River)
		}
	}
	// As `pulse serve` mounts it: every request gets an id.
	h := httplog.Middleware(slog.New(slog.DiscardHandler))(graph.NewHandler(db, client, opts))
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), queryCounterKey{}, queries)))
	}))
	t.Cleanup(server.Close)
	b := &testBundle{db: db, client: client, server: server, queries: queries, statements: statements}
	b.project = b.newProject(t, t.Name())
	return b
}

// newProject creates another project with its three keys.
func (b *testBundle) newProject(t *testing.T, name string) *testProject {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), b.client, name)
	require.NoError(t, err)
	return &testProject{
		ID:     created.Project.ID,
		Ingest: created.Ingest.Secret,
		Read:   created.Read.Secret,
		Admin:  created.Admin.Secret,
		ctx:    tenant.ForProject(context.Background(), created.Project.ID),
	}
}

// gqlResponse is the wire shape of a GraphQL response.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// code is the extensions.code of the first error, or "".
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// do posts a GraphQL operation with key (none when empty) and returns the
// HTTP status and decoded body.
func (b *testBundle) do(t *testing.T, key, query string, vars map[string]any) (int, gqlResponse) {
	t.Helper()
	status, out, err := b.send(key, query, vars)
	require.NoError(t, err)
	return status, out
}

// send is do for goroutines other than the test's, which must not assert:
// it returns what went wrong instead.
func (b *testBundle) send(key, query string, vars map[string]any) (int, gqlResponse, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return 0, gqlResponse{}, err
	}
	req, err := http.NewRequest(http.MethodPost, b.server.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		return 0, gqlResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, gqlResponse{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, gqlResponse{}, err
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return res.StatusCode, out, fmt.Errorf("decode %s: %w", raw, err)
	}
	return res.StatusCode, out, nil
}

// query runs an operation that must succeed and decodes its data into dst.
func (b *testBundle) query(t *testing.T, key, query string, vars map[string]any, dst any) {
	t.Helper()
	status, res := b.do(t, key, query, vars)
	require.Empty(t, res.Errors, "query %s", query)
	require.Equal(t, http.StatusOK, status)
	if dst != nil {
		require.NoError(t, json.Unmarshal(res.Data, dst))
	}
}

// jsonUnmarshal decodes response data.
func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// gid formats an ent id as a GraphQL ID.
func gid(id int) string { return strconv.Itoa(id) }

// jsonDecode decodes a response body.
func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
