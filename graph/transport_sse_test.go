package graph_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/live"
)

// sseStream is a subscription over Server-Sent Events as a client reads it.
type sseStream struct {
	events *bufio.Scanner
}

// openSSE posts query with key for an event stream.
func openSSE(t *testing.T, serverURL, key, query string, vars map[string]any) *sseStream {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, serverURL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = res.Body.Close() })
	require.Equal(t, http.StatusOK, res.StatusCode)
	return &sseStream{events: bufio.NewScanner(res.Body)}
}

// next returns the next result of the stream; false once it has ended.
func (s *sseStream) next(t *testing.T) (gqlResponse, bool) {
	t.Helper()
	for s.events.Scan() {
		if data, ok := strings.CutPrefix(s.events.Text(), "data: "); ok {
			var res gqlResponse
			require.NoError(t, json.Unmarshal([]byte(data), &res), data)
			return res, true
		}
	}
	require.NoError(t, s.events.Err())
	return gqlResponse{}, false
}

// Messages written over Server-Sent Events count in the hub's metrics as
// those over WebSockets do: every message in messages sent, a live one
// (not a replay) in the fan-out latency too.
func TestSSEMessagesAreCounted(t *testing.T) {
	t.Parallel()
	var sent, fanOut atomic.Int64
	b := setupLiveWith(t, live.Config{
		OnSent:   func() { sent.Add(1) },
		OnFanOut: func(time.Duration) { fanOut.Add(1) },
	}, graph.Options{})
	seg := b.staticSegment(t, b.project, "n", 2)
	b.members(t, b.project, seg, false, "n-0")
	stream := openSSE(t, b.server.URL, b.project.Read, membershipSubscription, map[string]any{"id": seg, "after": 0})

	replayed, ok := stream.next(t)
	require.True(t, ok)
	require.Empty(t, replayed.Errors)
	require.Equal(t, 1, changeSeq(t, replayed))
	require.Eventually(t, func() bool { return sent.Load() == 1 }, 5*time.Second, 5*time.Millisecond, "the replayed message is not counted")
	require.Zero(t, fanOut.Load(), "a replay is no fan-out")

	b.waitSubscribers(t, 1)
	b.members(t, b.project, seg, false, "n-1")
	announced, ok := stream.next(t)
	require.True(t, ok)
	require.Equal(t, 2, changeSeq(t, announced))
	require.Eventually(t, func() bool { return sent.Load() == 2 && fanOut.Load() == 1 }, 5*time.Second, 5*time.Millisecond,
		"sent %d, fan-out %d", sent.Load(), fanOut.Load())
}

// changeSeq is the seq of a segmentMembershipChanged result.
func changeSeq(t *testing.T, res gqlResponse) int {
	t.Helper()
	var data struct{ SegmentMembershipChanged membershipChange }
	require.NoError(t, json.Unmarshal(res.Data, &data), string(res.Data))
	return data.SegmentMembershipChanged.Seq
}
