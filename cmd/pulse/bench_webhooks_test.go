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

// TestBenchWebhooks runs the webhooks benchmark on a tiny dataset: every
// message the stream's runs made reaches the receiver once, verified, and
// nothing is lost or duplicated.
func TestBenchWebhooks(t *testing.T) {
	t.Parallel()
	dsn := strings.Replace(pgtest.DSN(t), "?", "_webhooks?", 1)
	t.Cleanup(func() { _, _ = freshBenchDatabase(context.Background(), dsn) })
	var out bytes.Buffer
	require.NoError(t, benchWebhooks(context.Background(), []string{"--database-url", dsn,
		"--users", "300", "--events", "3000", "--rate", "100", "--duration", "3s"}, &out, io.Discard))
	report := out.String()
	require.Contains(t, report, "lost: 0, duplicated: 0\n", report)
	require.Contains(t, report, "; 0 signatures refused)", report)
	delivered := regexp.MustCompile(`\((\d+) messages of (\d+) made`).FindStringSubmatch(report)
	require.NotNil(t, delivered, report)
	require.Equal(t, delivered[2], delivered[1], "every message delivered: %s", report)
	require.NotEqual(t, "0", delivered[1], "the stream moved segments: %s", report)
	lines := strings.Split(strings.TrimSpace(report), "\n")
	require.Regexp(t, `^p99 \d+ ms$`, lines[len(lines)-1])
}
