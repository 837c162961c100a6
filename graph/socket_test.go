package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"
)

// closeStatus reads until the server closes the connection and returns
// the close frame's status and reason.
func closeStatus(t *testing.T, c *wsClient) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		var msg map[string]any
		err := wsjson.Read(ctx, c.conn, &msg)
		if err != nil {
			var closeErr websocket.CloseError
			require.ErrorAs(t, err, &closeErr, "error: %v", err)
			return closeErr.Code, closeErr.Reason
		}
	}
}

// A client's complete ends its subscription on the server too: the hub
// lets go of it, and the server confirms with complete.
func TestCompleteEndsTheSubscription(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "c", 1)
	c := dialLive(t, b.server.URL, b.project.Read, "graphql-transport-ws")
	c.start(t, "1", membershipSubscription, map[string]any{"id": seg})
	b.waitSubscribers(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wsjson.Write(ctx, c.conn, map[string]any{"id": "1", "type": "complete"}))
	b.waitSubscribers(t, 0)
	msg := c.read(t)
	require.Equal(t, "complete", msg["type"])
	require.Equal(t, "1", msg["id"])

	// The connection goes on: a new subscription under the same id works.
	c.start(t, "1", membershipSubscription, map[string]any{"id": seg})
	b.waitSubscribers(t, 1)
	b.members(t, b.project, seg, false, "c-0")
	var change struct{ SegmentMembershipChanged membershipChange }
	c.next(t, "1", &change)
	require.Equal(t, 1, change.SegmentMembershipChanged.Seq)
}

// graphql-transport-ws's rules for misbehaving clients: an id already in
// use closes with 4409, a subscribe before connection_init with 4401.
func TestProtocolViolationsCloseTheConnection(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "p", 0)

	t.Run("duplicate id", func(t *testing.T) {
		t.Parallel()
		c := dialLive(t, b.server.URL, b.project.Read, "graphql-transport-ws")
		c.start(t, "1", membershipSubscription, map[string]any{"id": seg})
		c.start(t, "1", membershipSubscription, map[string]any{"id": seg})
		code, reason := closeStatus(t, c)
		require.Equal(t, websocket.StatusCode(4409), code)
		require.Equal(t, "Subscriber for 1 already exists", reason)
	})
	t.Run("subscribe before connection_init", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, "ws"+b.server.URL[len("http"):]+"/graphql",
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		require.NoError(t, err)
		defer conn.CloseNow()
		c := &wsClient{conn: conn, subscribe: "subscribe", data: "next", end: "complete"}
		c.start(t, "1", membershipSubscription, map[string]any{"id": seg})
		code, _ := closeStatus(t, c)
		require.Equal(t, websocket.StatusCode(4401), code)
	})
}

// When the HTTP server shuts down, it closes the sockets it no longer
// tracks (they were hijacked) through the hook the transport registered:
// with 1001, so that clients reconnect elsewhere.
func TestServerShutdownClosesSocketsGoingAway(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "s", 0)
	c := dialLive(t, b.server.URL, b.project.Read, "graphql-transport-ws")
	c.start(t, "1", membershipSubscription, map[string]any{"id": seg})
	b.waitSubscribers(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.server.Config.Shutdown(ctx))
	code, reason := closeStatus(t, c)
	require.Equal(t, websocket.StatusGoingAway, code)
	require.Equal(t, "server shutting down", reason)
	b.waitSubscribers(t, 0)
}
