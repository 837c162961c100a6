package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retrySchedule is Standard Webhooks' schedule: the first attempt at once,
// then each retry this long after the previous attempt failed. A message
// whose last attempt fails is given up (FAILED).
var retrySchedule = []time.Duration{
	0,
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	14 * time.Hour,
	20 * time.Hour,
	24 * time.Hour,
}

// MaxAttempts is how many times a message is tried before it is given up:
// one per step of the schedule.
const MaxAttempts = 10

// DisableAfter is how long an endpoint may fail without a success before
// it is disabled.
const DisableAfter = 5 * 24 * time.Hour

// maxRetryAfter bounds how long a receiver's Retry-After may hold a stream.
const maxRetryAfter = 24 * time.Hour

// nextDelay is how long to wait after the attempts-th attempt failed, with
// ±10% of jitter so that the retries of many messages failing together do
// not arrive together; ok is false when the message is to be given up.
func nextDelay(attempts int, jitter func() float64) (delay time.Duration, ok bool) {
	if attempts >= len(retrySchedule) {
		return 0, false
	}
	base := retrySchedule[attempts]
	return base + time.Duration((jitter()*0.2-0.1)*float64(base)), true
}

// defaultJitter is a uniform draw in [0, 1).
func defaultJitter() float64 { return rand.Float64() } //nolint:gosec // jitter needs no cryptographic randomness

// honoursRetryAfter are the answers whose Retry-After header sets the next
// attempt's time: too many requests, and a gateway's "bad" or "timed out".
func honoursRetryAfter(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusBadGateway || status == http.StatusGatewayTimeout
}

// retryAfter reads a Retry-After header (seconds, or an HTTP date) as a
// delay from now, at least a second and at most maxRetryAfter.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	raw := strings.TrimSpace(h.Get("Retry-After"))
	if raw == "" {
		return 0, false
	}
	var d time.Duration
	if seconds, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if seconds < 0 {
			return 0, false
		}
		d = time.Duration(min(seconds, int64(maxRetryAfter/time.Second))) * time.Second
	} else if at, err := http.ParseTime(raw); err == nil {
		d = at.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, time.Second), maxRetryAfter), true
}
