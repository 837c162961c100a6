package webhook

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNextDelayFollowsTheScheduleWithJitter(t *testing.T) {
	t.Parallel()
	require.Len(t, retrySchedule, MaxAttempts)
	low, high := func() float64 { return 0 }, func() float64 { return 1 }
	for attempts, base := range retrySchedule {
		lo, ok := nextDelay(attempts, low)
		require.True(t, ok)
		hi, _ := nextDelay(attempts, high)
		require.InDelta(t, float64(base)*0.9, float64(lo), float64(time.Millisecond), "attempt %d", attempts)
		require.InDelta(t, float64(base)*1.1, float64(hi), float64(time.Millisecond), "attempt %d", attempts)
	}
	d, ok := nextDelay(1, defaultJitter)
	require.True(t, ok)
	require.InDelta(t, float64(5*time.Second), float64(d), float64(500*time.Millisecond), "5 s ± 10%")
	_, ok = nextDelay(MaxAttempts, low)
	require.False(t, ok, "the tenth failure gives up")
	var total time.Duration
	for _, d := range retrySchedule {
		total += d
	}
	require.Equal(t, 75*time.Hour+35*time.Minute+5*time.Second, total, "about three days of retries")
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	for raw, want := range map[string]time.Duration{
		"120":                           2 * time.Minute,
		"0":                             time.Second,
		"999999999":                     24 * time.Hour,
		"Tue, 03 Mar 2026 12:10:00 GMT": 10 * time.Minute,
		"Tue, 03 Mar 2026 11:00:00 GMT": time.Second,
	} {
		got, ok := retryAfter(http.Header{"Retry-After": {raw}}, now)
		require.True(t, ok, raw)
		require.Equal(t, want, got, raw)
	}
	for _, raw := range []string{"", "soon", "-5"} {
		_, ok := retryAfter(http.Header{"Retry-After": {raw}}, now)
		require.False(t, ok, raw)
	}
	for status, want := range map[int]bool{429: true, 502: true, 504: true, 500: false, 503: false, 410: false} {
		require.Equal(t, want, honoursRetryAfter(status), status)
	}
}
