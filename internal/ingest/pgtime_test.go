package ingest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"
)

// TestTimestampText holds timestampText to the text lib/pq sends for the
// same time, on edges and on random times in and out of its fast range.
func TestTimestampText(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	times := []time.Time{
		time.Date(2026, 11, 29, 9, 30, 48, 0, time.UTC),
		time.Date(2026, 11, 29, 9, 30, 48, 120_000_000, time.UTC),
		time.Date(2026, 11, 29, 9, 30, 48, 1, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, berlin),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		times = append(times, time.Unix(rng.Int64N(400_000_000_000)-62_000_000_000, rng.Int64N(1e9)))
	}
	for _, at := range times {
		require.Equal(t, string(pq.FormatTimestamp(at.UTC())), timestampText(at), "%v", at)
	}
}
