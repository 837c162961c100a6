package graph_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/npmtest"
)

// TestGraphQLOverHTTPAudit runs graphql-http's audit suite (the reference
// implementation's checks of the GraphQL-over-HTTP spec, pinned by
// testdata/graphql-http/package-lock.json) against a real Pulse handler.
// Any warning or error fails the test, printed with the response that
// caused it.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dir := npmtest.Workspace(t, "testdata/graphql-http", "audit.mjs")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cmd := exec.CommandContext(ctx, "node", "audit.mjs")
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "PULSE_URL="+b.server.URL+"/graphql")
	out, runErr := cmd.Output()
	require.NoError(t, ctx.Err())

	type result struct {
		Status, ID, Name, Reason string
		Response                 json.RawMessage
		Summary                  map[string]int
	}
	var failures []string
	var summary map[string]int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r result
		require.NoError(t, json.Unmarshal([]byte(line), &r), "audit output: %s", line)
		if r.Summary != nil {
			summary = r.Summary
			continue
		}
		if r.Status == "warn" || r.Status == "error" {
			failures = append(failures, line)
		}
	}
	t.Logf("audit: %v", summary)
	require.NotNil(t, summary, "the audit printed no summary: %s", out)
	require.Positive(t, summary["ok"], "the audit ran no check")
	require.Empty(t, failures, "the GraphQL-over-HTTP audit reported:\n%s", strings.Join(failures, "\n"))
	require.NoError(t, runErr, "audit: %s", out)
}
