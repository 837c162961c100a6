package graph_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/recompute"
)

// setupPools serves GraphQL as pulse serve does: resolvers over a pool of
// readConns connections, which it returns, and ingestion (keys and the
// writer) over the package's own pool; with shared, ingestion uses the
// small pool too, as every request did before the pools were separated.
func setupPools(t *testing.T, readConns int, shared bool) (*testBundle, *sql.DB) {
	t.Helper()
	ingestDB := pgtest.DB(t)
	readDB, err := database.OpenPool(context.Background(), pgtest.DSN(t), readConns)
	require.NoError(t, err)
	t.Cleanup(func() { _ = readDB.Close() })
	ingestPool := ingestDB
	if shared {
		ingestPool = readDB
	}
	inserter, err := jobs.NewClient(ingestDB, jobs.Config{})
	require.NoError(t, err)
	h := graph.NewHandler(readDB, database.NewClient(readDB), graph.Options{
		Recompute: recompute.NewEnqueuer(ingestDB, inserter.River),
		Ingest:    ingest.NewWriter(ingestPool),
		Keys:      auth.NewKeys(database.NewClient(ingestPool)),
	})
	server := httptest.NewServer(h)
	t.Cleanup(server.Close)
	b := &testBundle{client: database.NewClient(ingestDB), server: server}
	b.project = b.newProject(t, t.Name())
	return b, readDB
}

// holdPool takes every connection of db until the test ends, as reads that
// saturate their pool do.
func holdPool(t *testing.T, db *sql.DB, n int) (release func()) {
	t.Helper()
	conns := make([]*sql.Conn, n)
	for i := range conns {
		conn, err := db.Conn(context.Background())
		require.NoError(t, err)
		conns[i] = conn
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			for _, c := range conns {
				_ = c.Close()
			}
		})
	}
	t.Cleanup(release)
	return release
}

// track sends one track mutation and returns how long it took, or the
// error that ended it.
func track(ctx context.Context, b *testBundle, key, event string) (time.Duration, error) {
	body := fmt.Sprintf(`{"query":"mutation { track(input: {userId: \"ann\", event: \"%s\"}) { accepted } }"}`, event)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.server.URL+"/graphql", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var out gqlResponse
	if err := jsonDecode(res, &out); err != nil {
		return 0, err
	}
	if len(out.Errors) > 0 || !strings.Contains(string(out.Data), `"accepted":1`) {
		return 0, fmt.Errorf("track answered %d %s %+v", res.StatusCode, out.Data, out.Errors)
	}
	return time.Since(start), nil
}

// TestReadsCannotStarveIngestion takes every connection of the GraphQL
// pool, as heavy reads that saturate it do: reads then wait, and the
// ingestion mutations still complete at once. The control, with one pool
// for both, shows the same load blocking ingestion.
func TestReadsCannotStarveIngestion(t *testing.T) {
	t.Parallel()
	const readConns = 2

	t.Run("separate pools", func(t *testing.T) {
		t.Parallel()
		b, readDB := setupPools(t, readConns, false)
		release := holdPool(t, readDB, readConns)

		read := make(chan int, 1)
		go func() {
			status, _, _ := b.send(b.project.Read, `{ users { totalCount } }`, nil)
			read <- status
		}()
		var latencies []time.Duration
		for i := range 20 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			took, err := track(ctx, b, b.project.Ingest, fmt.Sprintf("e-%d", i))
			cancel()
			require.NoError(t, err, "ingestion waited for the saturated read pool")
			latencies = append(latencies, took)
		}
		slices.Sort(latencies)
		t.Logf("track while the read pool is saturated: median %v, max %v", latencies[len(latencies)/2], latencies[len(latencies)-1])
		require.Less(t, latencies[len(latencies)-1], 2*time.Second)
		select {
		case status := <-read:
			t.Fatalf("the read finished (%d) while its pool was held: the pool was not saturated", status)
		default:
		}
		release()
		require.Equal(t, http.StatusOK, <-read, "the read runs once its pool frees up")
	})

	t.Run("one pool (control)", func(t *testing.T) {
		t.Parallel()
		b, readDB := setupPools(t, readConns, true)
		holdPool(t, readDB, readConns)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := track(ctx, b, b.project.Ingest, "blocked")
		require.ErrorIs(t, err, context.DeadlineExceeded, "with one pool, saturating reads block ingestion")
	})
}

// TestIngestionLatencyUnderPreviewLoad runs previews at the complexity
// limit from several clients on a small read pool while tracking events,
// and bounds the tracking latency.
func TestIngestionLatencyUnderPreviewLoad(t *testing.T) {
	t.Parallel()
	b, _ := setupPools(t, 2, false)
	seed(t, b, b.project, "u", 50)
	previews := previewAliases(12)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var previewsDone sync.Map
	for worker := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for ctx.Err() == nil {
				if status, res, err := b.send(b.project.Read, previews, nil); err == nil && status == http.StatusOK && len(res.Errors) == 0 {
					n++
				}
			}
			previewsDone.Store(worker, n)
		}()
	}
	var latencies []time.Duration
	for i := range 30 {
		reqCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		took, err := track(reqCtx, b, b.project.Ingest, fmt.Sprintf("load-%d", i))
		cancel()
		require.NoError(t, err)
		latencies = append(latencies, took)
	}
	stop()
	wg.Wait()
	total := 0
	previewsDone.Range(func(_, n any) bool { total += n.(int); return true })
	slices.Sort(latencies)
	t.Logf("track under %d preview requests (12 previews each): median %v, max %v", total, latencies[len(latencies)/2], latencies[len(latencies)-1])
	require.Positive(t, total, "the previews ran")
	require.Less(t, latencies[len(latencies)-1], 2*time.Second)
}

// previewAliases is a query of n aliases of previewSegment.
func previewAliases(n int) string {
	var q strings.Builder
	q.WriteString("{ ")
	for i := range n {
		fmt.Fprintf(&q, `p%d: previewSegment(rule: {trait: {key: "plan", op: EQ, value: "pro"}}) { size } `, i)
	}
	q.WriteString("}")
	return q.String()
}

// TestAliasBombRefused: a thousand aliases of previewSegment are refused
// by the document limits, four hundred (one rule in a variable) by the cost
// of previews, before any runs; twelve fit the default limit.
func TestAliasBombRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rule := map[string]any{"rule": map[string]any{"trait": map[string]any{"key": "plan", "op": "EQ", "value": "pro"}}}
	variableAliases := func(n int) string {
		var q strings.Builder
		q.WriteString("query($rule: RuleInput!) { ")
		for i := range n {
			fmt.Fprintf(&q, "p%d: previewSegment(rule: $rule) { size } ", i)
		}
		q.WriteString("}")
		return q.String()
	}
	for _, tt := range []struct {
		name, query, message string
		vars                 map[string]any
	}{
		{"1,000 inline", previewAliases(1000), "the document has more than 10000 tokens", nil},
		{"1,000 with a variable", variableAliases(1000), "the document has more than 10000 tokens", rule},
		{"400 with a variable", variableAliases(400), "query complexity exceeds the limit of 50000", rule},
		{"13 inline", previewAliases(13), "query complexity exceeds the limit of 50000", nil},
	} {
		start := time.Now()
		status, res := b.do(t, b.project.Read, tt.query, tt.vars)
		t.Logf("%s previews refused in %v", tt.name, time.Since(start))
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "BAD_USER_INPUT", res.code(), "errors: %+v", res.Errors)
		require.Equal(t, true, res.Errors[0].Extensions["limit"])
		require.Contains(t, res.Errors[0].Message, tt.message)
		require.Nil(t, res.Data, "no preview ran")
	}
	status, res := b.do(t, b.project.Read, previewAliases(12), nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, res.Errors)
}
