package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestBenchRealtime runs the real-time benchmark on a tiny dataset: the
// stream moves segments, every change is timed, the reconciling full
// recomputes find no drift, and the report ends with its p99.
func TestBenchRealtime(t *testing.T) {
	t.Parallel()
	dsn := strings.Replace(pgtest.DSN(t), "?", "_realtime?", 1)
	t.Cleanup(func() { _, _ = freshBenchDatabase(context.Background(), dsn) })
	var out bytes.Buffer
	require.NoError(t, benchRealtime(context.Background(), []string{"--database-url", dsn,
		"--users", "300", "--events", "3000", "--rate", "100", "--duration", "3s"}, &out, io.Discard))
	report := out.String()
	require.Contains(t, report, "; 0 requests failed)", report)
	require.Contains(t, report, "drift of the full recompute of every segment: 0\n", report)
	changes := regexp.MustCompile(`membership changes: (\d+);`).FindStringSubmatch(report)
	require.NotNil(t, changes, report)
	require.NotEqual(t, "0", changes[1], "the stream moved segments: %s", report)
	require.Regexp(t, `incremental ratio: \d+\.\d+ `, report)
	require.Regexp(t, `CPU of the incremental jobs: \d+\.\d s in PostgreSQL, \d+% of the machine's busy time, \d+% of its \d+ cores`, report)
	lines := strings.Split(strings.TrimSpace(report), "\n")
	require.Regexp(t, `^p99 \d+ ms$`, lines[len(lines)-1])
}
