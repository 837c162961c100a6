package export_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/export"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// logLines is a log destination that hands each line to a channel, so a
// test can wait for what the server says it did.
type logLines chan string

func (l logLines) Write(p []byte) (int, error) {
	l <- string(p)
	return len(p), nil
}

// waitFor returns the first line that contains msg, failing after a while.
func (l logLines) waitFor(t *testing.T, msg string) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line := <-l:
			if strings.Contains(line, msg) {
				return line
			}
		case <-timeout:
			require.FailNow(t, "the server never logged "+msg)
		}
	}
}

// open starts a GET of path and returns once the headers arrived; the body
// is left for the caller to read or abandon.
func (b *bundle) open(t *testing.T, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.server.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.project.Read.Secret)
	// A transport of its own: closing the body closes this connection.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	return res
}

// TestClientsThatStopReading checks that an export lets go of its database
// connection when its client stops: one that stalls is cut off after the
// write timeout, one that disconnects at once. The server has a pool of
// one connection and writes one export at a time, so each next export
// proves the previous one released both.
func TestClientsThatStopReading(t *testing.T) {
	t.Parallel()
	pool, err := database.OpenPool(context.Background(), pgtest.DSN(t), 1)
	require.NoError(t, err)
	t.Cleanup(func() { _ = pool.Close() })
	logs := make(logLines, 100)
	b := setup(t, pool, export.Options{MaxConcurrent: 1, WriteTimeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	// Requests are authenticated without the connection an export holds.
	b.cacheKeys(t)
	// Far more than the kernel buffers between server and client: the
	// server is still writing when the client stops.
	const users = 50_000
	seg := b.createSegment(t, "Big")
	b.addMembers(t, seg, b.createManyUsers(t, users, 500))
	path := fmt.Sprintf("/v1/segments/%d/members.csv", seg)

	stalled := b.open(t, path)
	defer func() { _ = stalled.Body.Close() }()
	_, err = io.ReadFull(stalled.Body, make([]byte, 1<<10))
	require.NoError(t, err)
	busy := b.refused(t, path, b.project.Read.Secret, http.StatusServiceUnavailable)
	require.Equal(t, "UNAVAILABLE", busy.Error.Code)
	require.Contains(t, busy.Error.Message, "writing 1 exports, as many as it writes at once")
	line := logs.waitFor(t, "export cut short by its client")
	require.Contains(t, line, "timeout", "the stalled client is cut off by the write deadline")

	gone := b.open(t, path)
	_, err = io.ReadFull(gone.Body, make([]byte, 64<<10))
	require.NoError(t, err)
	require.NoError(t, gone.Body.Close())
	logs.waitFor(t, "export cut short by its client")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.server.URL+path+"?traits=plan", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.project.Read.Secret)
	res, err := b.server.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	header, _, _ := strings.Cut(string(raw), "\n")
	require.Equal(t, "id,externalId,enteredAt,traits.plan", header)
	require.Equal(t, users+1, strings.Count(string(raw), "\n"), "the next export has the connection and all the rows")
	var active int
	require.NoError(t, pool.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%FROM segment_members m JOIN users u%' AND state = 'active'`).Scan(&active))
	require.Zero(t, active, "no export statement runs on")
}

// heapSampler is a response writer that records the live heap every MiB
// of body: a collection first, so only what is reachable counts.
type heapSampler struct {
	header  http.Header
	status  int
	written int64
	next    int64
	peak    uint64
}

func (s *heapSampler) Header() http.Header  { return s.header }
func (s *heapSampler) WriteHeader(code int) { s.status = code }

func (s *heapSampler) Write(p []byte) (int, error) {
	s.written += int64(len(p))
	if s.written >= s.next {
		s.next += 1 << 20
		s.peak = max(s.peak, liveHeap())
	}
	return len(p), nil
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestConstantMemory writes the CSV of 100,000 members (about 40 MB) and
// checks that the live heap never grows by more than a few MiB while it
// does: rows pass through, the result set is never held. It runs alone
// (not in parallel) so that the heap is its own.
func TestConstantMemory(t *testing.T) {
	b := setup(t, nil, export.Options{})
	const users = 100_000
	seg := b.createSegment(t, "Big")
	b.addMembers(t, seg, b.createManyUsers(t, users, 300))
	h := b.server.Config.Handler

	for _, format := range []string{"csv", "ndjson"} {
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/v1/segments/%d/members.%s", seg, format), nil)
		req.Header.Set("Authorization", "Bearer "+b.project.Read.Secret)
		out := &heapSampler{header: http.Header{}}
		before := liveHeap()
		h.ServeHTTP(out, req)
		require.Equal(t, http.StatusOK, out.status)
		require.Greater(t, out.written, int64(30<<20), format)
		grown := int64(out.peak) - int64(before)
		t.Logf("%s: %d MiB written, live heap grew by at most %d KiB", format, out.written>>20, grown>>10)
		require.Less(t, grown, int64(8<<20), "%s: the live heap grew by %d bytes while writing %d", format, grown, out.written)
	}
}
