package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestBenchReads runs the read benchmark on a tiny dataset: Pulse and the
// floor must answer every query alike (the benchmark checks it before
// timing) and the report must carry each query on both sides.
func TestBenchReads(t *testing.T) {
	t.Parallel()
	// The benchmark's own database; the package's is dropped by pgtest.
	t.Cleanup(func() { _, _ = freshBenchDatabase(context.Background(), pgtest.DSN(t)) })
	var out bytes.Buffer
	err := benchReads(context.Background(), []string{"--database-url", pgtest.DSN(t),
		"--users", "60", "--events", "600", "--clients", "2", "--duration", "50ms", "--rounds", "1", "--json"}, &out, io.Discard)
	require.NoError(t, err)
	var report struct {
		Clients int
		Queries []struct {
			Name                                           string
			PulseRequestsPerSecond, FloorRequestsPerSecond float64
			Ratio                                          float64
		}
		Ratio float64
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &report), "%s", out.String())
	require.Equal(t, 2, report.Clients)
	require.Len(t, report.Queries, 4)
	for _, q := range report.Queries {
		require.Positive(t, q.PulseRequestsPerSecond, q.Name)
		require.Positive(t, q.FloorRequestsPerSecond, q.Name)
		require.InDelta(t, q.PulseRequestsPerSecond/q.FloorRequestsPerSecond, q.Ratio, 1e-9, "one round: %s", q.Name)
	}
	require.Equal(t, report.Queries[len(report.Queries)-1].Ratio, report.Ratio, "the worst last")
}
