package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestBenchErasure runs the erasure benchmark on a tiny dataset: every
// round erases its cohort (rows removed) and reports both timings.
func TestBenchErasure(t *testing.T) {
	t.Parallel()
	// The benchmark's own database; the package's is dropped by pgtest.
	dsn := pgtest.DSN(t)
	t.Cleanup(func() { _, _ = freshBenchDatabase(context.Background(), dsn) })
	var out bytes.Buffer
	err := benchErasure(context.Background(), []string{"--database-url", dsn,
		"--users", "20", "--events", "5", "--bystanders", "30", "--rounds", "2"}, &out, io.Discard)
	require.NoError(t, err, out.String())
	rounds := regexp.MustCompile(`round \d: erasure [0-9.]+ s \((\d+) rows\), floor [0-9.]+ s`).FindAllStringSubmatch(out.String(), -1)
	require.Len(t, rounds, 2, out.String())
	for _, r := range rounds {
		rows, err := strconv.Atoi(r[1])
		require.NoError(t, err)
		require.Greater(t, rows, 20*5, "events, and the rows of every other table")
	}
	require.Regexp(t, `(?m)^ratio: [0-9.]+$`, out.String())
}
