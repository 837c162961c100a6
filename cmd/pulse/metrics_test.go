package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestMetricsAndJobsUI sends some traffic to a real server, scrapes
// /metrics and checks the counts, and checks River's UI is not served without an operator token.
func TestMetricsAndJobsUI(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	base := serveInProcess(t, dsn, io.Discard, "--log-level", "warn")
	out := createProject(t, dsn, "Metrics")

	post := func(path, key, body string) int {
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for range 2 {
		require.Equal(t, 200, post("/graphql", out.Keys.Read, `{"query":"query Who { viewer { role } }","operationName":"Who"}`))
	}
	require.Equal(t, 200, post("/graphql", out.Keys.Read, `{"query":"query Broken { viewer { "}`), "application/json answers 200 for a parse failure")
	require.Equal(t, 200, post("/graphql", out.Keys.Read, `{"query":"mutation Recompute { recomputeSegment(id: 17179869185) { id } }"}`))
	require.Equal(t, 200, post("/v1/batch", out.Keys.Ingest, `{"batch":[
		{"type":"track","userId":"ann","event":"export","messageId":"m1"},
		{"type":"track","userId":"ann","event":"export","messageId":"m2"},
		{"type":"track","event":"export","messageId":"m3"}]}`))
	require.Equal(t, 200, post("/v1/batch", out.Keys.Ingest, `{"batch":[{"type":"track","userId":"ann","event":"export","messageId":"m1"}]}`))

	s := scrapeMetrics(t, base+"/metrics")
	require.Equal(t, 2.0, s[`pulse_graphql_operations_total{operation_name="Who",operation_type="query"}`])
	require.Equal(t, 2.0, s[`pulse_graphql_operation_duration_seconds_count{operation_name="Who",operation_type="query"}`])
	require.Equal(t, 1.0, s[`pulse_graphql_operations_total{operation_name="",operation_type="invalid"}`])
	require.Equal(t, 1.0, s[`pulse_graphql_errors_total{code="GRAPHQL_PARSE_FAILED",operation_name="",operation_type="invalid"}`])
	require.Equal(t, 1.0, s[`pulse_graphql_errors_total{code="FORBIDDEN",operation_name="Recompute",operation_type="mutation"}`])
	require.Equal(t, 2.0, s[`pulse_ingest_messages_total{outcome="accepted"}`])
	require.Equal(t, 1.0, s[`pulse_ingest_messages_total{outcome="duplicate"}`])
	require.Equal(t, 1.0, s[`pulse_ingest_messages_total{outcome="rejected"}`])
	require.Equal(t, 2.0, s[`pulse_http_requests_total{code="200",handler="/v1/{call}",method="POST"}`])
	require.Equal(t, 4.0, s[`pulse_http_requests_total{code="200",handler="/graphql",method="POST"}`])
	require.Contains(t, s, `pulse_live_subscribers`)
	require.Contains(t, s, `pulse_live_listener_reconnects_total`)
	require.Contains(t, s, `go_goroutines`)

	// Without an operator token River's UI is not served at all: no
	// project's key opens it.
	for _, path := range []string{"/riverui", "/riverui/", "/riverui/api/queues"} {
		require.Equal(t, http.StatusNotFound, jobsUIStatus(t, base+path, out.Keys.Admin, ""), path)
	}
}

// TestJobsUIWantsTheOperatorToken serves with --operator-token and checks
// that River's UI opens with the token only, not with a project's ADMIN key,
// and that the printed configuration masks the token.
func TestJobsUIWantsTheOperatorToken(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	const token = "operator-3f9d2c7a81b64e05"
	var logs syncBuffer
	base := serveInProcess(t, dsn, &logs, "--log-level", "info", "--operator-token", token)
	out := createProject(t, dsn, "Tenant")

	queues := base + "/riverui/api/queues"
	require.Equal(t, http.StatusUnauthorized, jobsUIStatus(t, queues, "", ""))
	require.Equal(t, http.StatusUnauthorized, jobsUIStatus(t, queues, "", out.Keys.Admin), "a tenant's ADMIN key")
	require.Equal(t, http.StatusUnauthorized, jobsUIStatus(t, queues, out.Keys.Admin, ""), "a tenant's ADMIN key as the user name")
	require.Equal(t, http.StatusUnauthorized, jobsUIStatus(t, queues, "", "operator-wrong-token-000"))
	require.Equal(t, http.StatusOK, jobsUIStatus(t, queues, "", token))
	require.Equal(t, http.StatusOK, jobsUIStatus(t, base+"/riverui/", "ops", token), "the page a browser opens")

	require.Contains(t, logs.String(), "operator_token=\"set (masked)\"")
	require.NotContains(t, logs.String(), token)
}

func TestWeakOperatorTokenIsRefused(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"serve", "--operator-token", "secret"}, io.Discard, io.Discard)
	require.ErrorIs(t, err, errUsage)
	require.ErrorContains(t, err, "--operator-token (PULSE_OPERATOR_TOKEN): weak operator token: it has 6 characters, at least 16")
}

// jobsUIStatus GETs url with Basic auth (when user or password is set) and
// returns the status; a 401 must carry a Basic challenge.
func jobsUIStatus(t *testing.T, url, user, password string) int {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if user != "" || password != "" {
		req.SetBasicAuth(user, password)
	}
	res, err := client.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	if res.StatusCode == http.StatusUnauthorized {
		require.Contains(t, res.Header.Get("WWW-Authenticate"), "Basic")
	}
	return res.StatusCode
}

// scrapeMetrics returns every sample of the endpoint by its series.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	samples := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
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

// syncBuffer is a bytes.Buffer the server may log to while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestOperatorTokenFromTheEnvironment reads the token from
// PULSE_OPERATOR_TOKEN, and checks --help does not print it as a default.
func TestOperatorTokenFromTheEnvironment(t *testing.T) {
	const token = "from-the-environment-0123"
	t.Setenv("PULSE_OPERATOR_TOKEN", token)
	require.Equal(t, token, parseServeFlags(t).OperatorToken)
	require.Equal(t, "on-the-command-line-4567", parseServeFlags(t, "--operator-token", "on-the-command-line-4567").OperatorToken)

	var stderr bytes.Buffer
	require.ErrorIs(t, run(context.Background(), []string{"serve", "--help"}, io.Discard, &stderr), flag.ErrHelp)
	require.Contains(t, stderr.String(), "-operator-token")
	require.NotContains(t, stderr.String(), token)
}
