package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// liveBundle is a test server whose subscriptions are served by a hub of
// its own, with its subscriber count observable.
type liveBundle struct {
	*testBundle
	subscribers chan int64
	count       *atomic.Int64
}

// subscriberCount is the hub's current number of subscribers.
func (b *liveBundle) subscriberCount() int64 { return b.count.Load() }

// useSmallSocketBuffers serves the bundle from a listener whose sockets
// have a small kernel send buffer, so that a client that stops reading
// blocks the server's writes after a few kilobytes instead of megabytes.
func (b *liveBundle) useSmallSocketBuffers(t *testing.T) {
	t.Helper()
	server := httptest.NewUnstartedServer(b.server.Config.Handler)
	server.Listener = smallBufferListener{server.Listener}
	server.Start()
	t.Cleanup(server.Close)
	b.server.Close()
	b.server = server
}

type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetWriteBuffer(4096)
	}
	return conn, err
}

// dialLiveSmall is dialLive over a socket with a small receive buffer.
func dialLiveSmall(t *testing.T, serverURL, key string) *wsClient {
	t.Helper()
	dialer := &net.Dialer{Control: func(_, _ string, raw syscall.RawConn) error {
		var sockErr error
		err := raw.Control(func(fd uintptr) {
			sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, sockErr)
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	return dialLiveWith(t, serverURL, key, "graphql-transport-ws", client)
}

func setupLive(t *testing.T, buffer int) *liveBundle {
	t.Helper()
	return setupLiveWith(t, live.Config{Buffer: buffer}, graph.Options{})
}

// setupLiveWith is setupLive with the hub's hooks (its DSN and
// OnSubscribers are the bundle's) and the handler's options of cfg and
// opts.
func setupLiveWith(t *testing.T, cfg live.Config, opts graph.Options) *liveBundle {
	t.Helper()
	count := &atomic.Int64{}
	subscribers := make(chan int64, 1024)
	db := pgtest.DB(t)
	cfg.DSN = pgtest.DSN(t)
	cfg.OnSubscribers = func(delta int) { subscribers <- count.Add(int64(delta)) }
	hub := live.NewHub(db, database.NewClient(db), cfg)
	require.NoError(t, hub.Start(context.Background()))
	t.Cleanup(hub.Stop)
	opts.Live = hub
	return &liveBundle{testBundle: setupWith(t, opts), subscribers: subscribers, count: count}
}

// waitSubscribers blocks until the hub has n subscribers.
func (b *liveBundle) waitSubscribers(t *testing.T, n int64) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case got := <-b.subscribers:
			if got == n {
				return
			}
		case <-timeout:
			t.Fatalf("the hub never had %d subscribers", n)
		}
	}
}

// wsClient speaks one of the two GraphQL WebSocket subprotocols.
type wsClient struct {
	conn                 *websocket.Conn
	subscribe, data, end string
}

// dialLive opens a socket with key in connection_init and waits for the ack.
func dialLive(t *testing.T, serverURL, key, subprotocol string) *wsClient {
	t.Helper()
	return dialLiveWith(t, serverURL, key, subprotocol, nil)
}

func dialLiveWith(t *testing.T, serverURL, key, subprotocol string, client *http.Client) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(serverURL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{subprotocol}, HTTPClient: client})
	require.NoError(t, err)
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	c := &wsClient{conn: conn, subscribe: "subscribe", data: "next", end: "complete"}
	if subprotocol == "graphql-ws" {
		c.subscribe, c.data = "start", "data"
	}
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
		"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + key},
	}))
	require.Equal(t, "connection_ack", c.read(t)["type"])
	return c
}

func (c *wsClient) start(t *testing.T, id, query string, vars map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wsjson.Write(ctx, c.conn, map[string]any{
		"id": id, "type": c.subscribe, "payload": map[string]any{"query": query, "variables": vars},
	}))
}

// read returns the next protocol message, skipping keepalives.
func (c *wsClient) read(t *testing.T) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		var msg map[string]any
		require.NoError(t, wsjson.Read(ctx, c.conn, &msg))
		switch msg["type"] {
		case "ka", "ping", "pong":
			continue
		}
		return msg
	}
}

// next reads the next data message of subscription id into dst; any other
// message fails the test.
func (c *wsClient) next(t *testing.T, id string, dst any) {
	t.Helper()
	msg := c.read(t)
	require.Equal(t, c.data, msg["type"], "message: %v", msg)
	require.Equal(t, id, msg["id"])
	raw, err := json.Marshal(msg["payload"])
	require.NoError(t, err)
	var res gqlResponse
	require.NoError(t, json.Unmarshal(raw, &res))
	require.Empty(t, res.Errors, "payload: %s", raw)
	require.NoError(t, json.Unmarshal(res.Data, dst), "payload: %s", raw)
}

// membershipChange is the wire shape the tests select.
type membershipChange struct {
	Seq          int `json:"seq"`
	Size         int `json:"size"`
	EnteredCount int `json:"enteredCount"`
	ExitedCount  int `json:"exitedCount"`
	Segment      struct {
		ID string `json:"id"`
	} `json:"segment"`
	Entered []struct {
		ExternalID string `json:"externalId"`
	} `json:"entered"`
	Exited []struct {
		ExternalID string `json:"externalId"`
	} `json:"exited"`
}

func (m membershipChange) enteredIDs() []string {
	out := []string{}
	for _, u := range m.Entered {
		out = append(out, u.ExternalID)
	}
	return out
}

const changeFields = `seq size enteredCount exitedCount segment { id } entered { externalId } exited { externalId }`

const membershipSubscription = `subscription($id: ID!, $after: Int) {
	segmentMembershipChanged(segmentId: $id, afterSeq: $after) { ` + changeFields + ` } }`

// staticSegment creates a STATIC segment through the API and n users
// named prefix-0..n-1 through ingestion, returning the segment's id.
func (b *testBundle) staticSegment(t *testing.T, p *testProject, prefix string, n int) string {
	t.Helper()
	for i := range n {
		var out struct{ Identify struct{ Accepted int } }
		b.query(t, p.Ingest, `mutation($u: String!) { identify(input: {userId: $u, traits: {n: 1}}) { accepted } }`,
			map[string]any{"u": fmt.Sprintf("%s-%d", prefix, i)}, &out)
	}
	var created struct{ CreateSegment struct{ ID string } }
	b.query(t, p.Admin, `mutation { createSegment(input: {name: "live", kind: STATIC}) { id } }`, nil, &created)
	return created.CreateSegment.ID
}

// members adds (or removes) users of a static segment: one committed run.
func (b *testBundle) members(t *testing.T, p *testProject, segmentID string, remove bool, externalIDs ...string) {
	t.Helper()
	mutation := "addSegmentMembers"
	if remove {
		mutation = "removeSegmentMembers"
	}
	var out map[string]struct{ Seq int }
	b.query(t, p.Admin, `mutation($id: ID!, $ids: [String!]!) { `+mutation+`(id: $id, externalIds: $ids) { seq } }`,
		map[string]any{"id": segmentID, "ids": externalIDs}, &out)
}

// ingestUsers creates users by external id in one call.
func (b *testBundle) ingestUsers(t *testing.T, externalIDs []string) {
	t.Helper()
	events := make([]map[string]any, len(externalIDs))
	for i, id := range externalIDs {
		events[i] = map[string]any{"type": "IDENTIFY", "userId": id, "traits": map[string]any{"n": i}}
	}
	var out struct{ IngestEvents struct{ Accepted int } }
	b.query(t, b.project.Ingest, `mutation($e: [EventInput!]!) { ingestEvents(events: $e) { accepted } }`,
		map[string]any{"e": events}, &out)
	require.Equal(t, len(externalIDs), out.IngestEvents.Accepted)
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}

func itoa(i int) string { return fmt.Sprint(i) }
