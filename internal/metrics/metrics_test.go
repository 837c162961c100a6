package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/metrics"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// scrape GETs the metrics endpoint and returns every sample by its series,
// e.g. `pulse_ingest_messages_total{outcome="accepted"}`.
func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	samples := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		samples[line[:i]] = v
	}
	return samples
}

func TestHTTPRequestsByPattern(t *testing.T) {
	t.Parallel()
	m := metrics.New(prometheus.NewRegistry())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := m.Middleware(mux)
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/items/1", nil),
		httptest.NewRequest(http.MethodGet, "/items/2", nil),
		httptest.NewRequest(http.MethodPost, "/fail", nil),
		httptest.NewRequest(http.MethodGet, "/nowhere", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	s := scrape(t, m)
	require.Equal(t, 2.0, s[`pulse_http_requests_total{code="200",handler="GET /items/{id}",method="GET"}`], "the pattern, not the path, is the label")
	require.Equal(t, 1.0, s[`pulse_http_requests_total{code="418",handler="POST /fail",method="POST"}`])
	require.Equal(t, 1.0, s[`pulse_http_requests_total{code="404",handler="unmatched",method="GET"}`])
	require.Equal(t, 2.0, s[`pulse_http_request_duration_seconds_count{handler="GET /items/{id}",method="GET"}`])
}

func TestIngestOutcomes(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	ctx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleIngest})
	m := metrics.New(prometheus.NewRegistry())
	sink := m.CountIngest(ingest.NewWriter(db))

	at := time.Now().Add(-time.Hour)
	batch := []ingest.Message{
		{Type: ingest.TypeTrack, UserID: "ann", Event: "export", MessageID: "m1", Timestamp: at},
		{Type: ingest.TypeTrack, UserID: "ann", Event: "export", MessageID: "m2", Timestamp: at},
		{Type: ingest.TypeTrack, UserID: "", Event: "export", MessageID: "m3", Timestamp: at},
	}
	_, err = sink.Write(ctx, batch)
	require.NoError(t, err)
	_, err = sink.Write(ctx, batch[:1]) // a retry
	require.NoError(t, err)

	s := scrape(t, m)
	require.Equal(t, 2.0, s[`pulse_ingest_messages_total{outcome="accepted"}`])
	require.Equal(t, 1.0, s[`pulse_ingest_messages_total{outcome="duplicate"}`])
	require.Equal(t, 1.0, s[`pulse_ingest_messages_total{outcome="rejected"}`])
}

// flakyArgs is a job that fails on its first attempt and succeeds after.
type flakyArgs struct{}

func (flakyArgs) Kind() string { return "metrics_test_flaky" }

type flakyWorker struct {
	river.WorkerDefaults[flakyArgs]
}

func (flakyWorker) Work(_ context.Context, job *river.Job[flakyArgs]) error {
	if job.Attempt == 1 {
		return errors.New("first attempt fails")
	}
	return nil
}

// NextRetry retries at once, so the test does not wait for River's backoff.
func (flakyWorker) NextRetry(*river.Job[flakyArgs]) time.Time { return time.Now() }

func TestJobRunsAndFailures(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	workers := river.NewWorkers()
	river.AddWorker(workers, flakyWorker{})
	const queue = "metrics_test"
	client, err := river.NewClient(riverdatabasesql.New(db), &river.Config{
		Queues:            map[string]river.QueueConfig{queue: {MaxWorkers: 1}},
		Workers:           workers,
		FetchPollInterval: 50 * time.Millisecond,
		FetchCooldown:     50 * time.Millisecond,
		TestOnly:          true,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	m := metrics.New(prometheus.NewRegistry())
	stop := metrics.WatchJobs(ctx, m, client)
	t.Cleanup(stop)
	// The test's own subscription tells when the retry has completed.
	completed, cancelSub := client.Subscribe(river.EventKindJobCompleted)
	t.Cleanup(cancelSub)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() { _ = client.Stop(context.WithoutCancel(ctx)) })

	_, err = client.Insert(ctx, flakyArgs{}, &river.InsertOpts{Queue: queue})
	require.NoError(t, err)
	select {
	case <-completed:
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not complete")
	}
	// River hands an event to every subscription under one lock, and stop
	// takes that lock: once the test saw the completion, so has the watcher.
	stop()

	s := scrape(t, m)
	require.Equal(t, 1.0, s[`pulse_job_runs_total{kind="metrics_test_flaky",outcome="failed"}`])
	require.Equal(t, 1.0, s[`pulse_job_runs_total{kind="metrics_test_flaky",outcome="completed"}`])
	require.Equal(t, 1.0, s[`pulse_job_failures_total{final="false",kind="metrics_test_flaky"}`])
	require.Equal(t, 1.0, s[`pulse_job_duration_seconds_count{kind="metrics_test_flaky",outcome="completed"}`])
}

func TestLiveGaugesForTheListener(t *testing.T) {
	t.Parallel()
	m := metrics.New(prometheus.NewRegistry())
	m.Subscribers.Inc()
	m.Subscribers.Inc()
	m.Subscribers.Dec()
	m.ListenerReconnects.Inc()
	m.SlowConsumers.Inc()
	m.LiveMessages.Add(3)
	m.ObserveFanOut(3 * time.Millisecond)
	m.ObserveFanOut(40 * time.Millisecond)
	s := scrape(t, m)
	require.Equal(t, 1.0, s[`pulse_live_subscribers`])
	require.Equal(t, 1.0, s[`pulse_live_listener_reconnects_total`])
	require.Equal(t, 1.0, s[`pulse_live_slow_consumers_total`])
	require.Equal(t, 3.0, s[`pulse_live_messages_sent_total`])
	require.Equal(t, 2.0, s[`pulse_live_fanout_seconds_count`])
	require.Equal(t, 1.0, s[`pulse_live_fanout_seconds_bucket{le="0.005"}`])
	require.Equal(t, 2.0, s[`pulse_live_fanout_seconds_bucket{le="0.05"}`])
	require.InDelta(t, 0.043, s[`pulse_live_fanout_seconds_sum`], 1e-9)
}

func TestWatchJobsOnAnInsertOnlyClient(t *testing.T) {
	t.Parallel()
	client, err := river.NewClient(riverdatabasesql.New(pgtest.DB(t)), &river.Config{})
	require.NoError(t, err)
	stop := metrics.WatchJobs(context.Background(), metrics.New(prometheus.NewRegistry()), client)
	stop() // an API-only process: nothing to watch, nothing panics
}
