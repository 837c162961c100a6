package ingest_test

import (
	"bytes"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// maxRefusedAlloc bounds what one request refused for its number of
// messages may allocate, all of it: sending, reading, decompressing,
// scanning and answering; maxAcceptedAlloc, one accepted request of 2,500
// messages of the smallest values, which are decoded (traits) and handed
// to the sink. A body is at most MaxBatchBytes, 500 KB, decompressed.
const (
	maxRefusedAlloc  = 8 << 20
	maxAcceptedAlloc = 32 << 20
)

// TestHTTPHostileBodiesMemory: concurrent bodies of tiny messages, as sent
// and gzipped, to both APIs, cost a bounded amount of memory each, whether
// refused (too many messages) or accepted (2,500 messages of tiny values).
// It is not parallel: it measures the process's allocations, which other
// tests would disturb.
func TestHTTPHostileBodiesMemory(t *testing.T) {
	b := setupHTTP(t)
	key := b.project.Ingest.Secret
	const concurrent = 8
	// 170,000 "{}" fill a body to just under 500 KB.
	tiny := strings.Repeat("{},", 170_000) + "{}"
	// 2,500 messages, each of 60 one-digit trait values.
	identify := `{"type":"identify","userId":"u","traits":{"a":[` + strings.Repeat("0,", 59) + `0]}}`
	accepted := `{"batch":[` + strings.Repeat(identify+",", ingest.MaxBatchSize-1) + identify + `]}`
	require.Less(t, len(accepted), ingest.MaxBatchBytes)
	tooMany := "the batch has 170001 messages; the limit is 2500"
	tooManyEvents := "the batch has 170001 events; the limit is 2500"

	tests := []struct {
		name    string
		call    call
		wantMsg string // "" when accepted
	}{
		{"segment", call{path: "/v1/batch", body: `{"batch":[` + tiny + `]}`, basicKey: key}, tooMany},
		{"segment gzip", call{path: "/v1/batch", body: `{"batch":[` + tiny + `]}`, basicKey: key, gzip: true}, tooMany},
		{"posthog array", call{path: "/e/", body: `[` + tiny + `]`}, tooManyEvents},
		{"posthog batch gzip", call{path: "/batch/", body: `{"api_key":"` + key + `","batch":[` + tiny + `]}`, gzip: true}, tooManyEvents},
		{"segment accepted", call{path: "/v1/batch", body: accepted, basicKey: key}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.call.body)
			if tt.call.gzip {
				body = gzipped(t, body)
			}
			perRequest, peak := measure(t, concurrent, func() {
				r := b.post(t, tt.call, body)
				if tt.wantMsg == "" {
					require.Equal(t, http.StatusOK, r.Status, r.Raw)
					require.Equal(t, ingest.MaxBatchSize, r.Accepted)
					return
				}
				requireError(t, r, http.StatusBadRequest, "BATCH_TOO_LARGE", tt.wantMsg)
			})
			t.Logf("%d concurrent: %.1f MB allocated per request, heap peak +%.1f MB, process peak RSS %s",
				concurrent, float64(perRequest)/(1<<20), float64(peak)/(1<<20), peakRSS())
			bound := uint64(maxRefusedAlloc)
			if tt.wantMsg == "" {
				bound = maxAcceptedAlloc
			}
			require.Less(t, perRequest, bound, "memory per request is bounded")
		})
	}
}

// measure runs fn n times concurrently and returns the bytes allocated per
// run and the peak of live heap objects above what was live before, as
// sampled while they ran.
func measure(t *testing.T, n int, fn func()) (perRun, peak uint64) {
	t.Helper()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	live := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	base := live()
	done := make(chan struct{})
	sampled := make(chan uint64)
	go func() {
		highest := base
		for {
			select {
			case <-done:
				sampled <- highest
				return
			default:
				highest = max(highest, live())
				runtime.Gosched()
			}
		}
	}()
	var wg sync.WaitGroup
	for range n {
		wg.Go(fn)
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	close(done)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(n), <-sampled - base
}

// post sends c with body as it is (already compressed when c.gzip).
func (b *httpBundle) post(t *testing.T, c call, body []byte) reply {
	t.Helper()
	c.body, c.gzip = string(body), false
	if bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		c.header = map[string]string{"Content-Encoding": "gzip"}
	}
	return b.do(t, c)
}

// peakRSS is the process's peak resident set (VmHWM), for the log.
func peakRSS() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return "unknown"
}
