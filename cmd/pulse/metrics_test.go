package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestMetricsAndJobsUI sends some traffic to a real server, scrapes
// /metrics and checks the counts, and checks River's UI asks for an ADMIN key.
func TestMetricsAndJobsUI(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--database-url", dsn, "--log-level", "warn"}, io.Discard, io.Discard)
	}()
	base := "http://" + addr
	waitReady(t, base+"/readyz", done)
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})
	var created bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"project", "create", "--name", "Metrics", "--database-url", dsn}, &created, io.Discard))
	var out projectCreated
	require.NoError(t, json.Unmarshal(created.Bytes(), &out))

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
	post("/graphql", out.Keys.Read, `{"query":"query Broken { viewer { "}`)
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
	require.Equal(t, 3.0, s[`pulse_http_requests_total{code="200",handler="/graphql",method="POST"}`])
	require.Contains(t, s, `pulse_live_subscribers`)
	require.Contains(t, s, `pulse_live_listener_reconnects_total`)
	require.Contains(t, s, `go_goroutines`)

	ui := func(user, password string) int {
		req, err := http.NewRequest(http.MethodGet, base+"/riverui/api/queues", nil)
		require.NoError(t, err)
		if user != "" || password != "" {
			req.SetBasicAuth(user, password)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		if res.StatusCode == http.StatusUnauthorized {
			require.Contains(t, res.Header.Get("WWW-Authenticate"), "Basic")
		}
		return res.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, ui("", ""))
	require.Equal(t, http.StatusUnauthorized, ui("", "pk_admin_wrong"))
	require.Equal(t, http.StatusForbidden, ui("", out.Keys.Read))
	require.Equal(t, http.StatusOK, ui("", out.Keys.Admin))
	require.Equal(t, http.StatusOK, ui(out.Keys.Admin, ""), "the key as the user name works too")
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
