package graph_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"
)

func TestSegmentMembershipChangedOverWebSocket(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "m", 3)
	c := dialLive(t, b.server.URL, b.project.Read, "graphql-transport-ws")
	c.start(t, "1", membershipSubscription, map[string]any{"id": seg})
	b.waitSubscribers(t, 1)

	b.members(t, b.project, seg, false, "m-0", "m-1")
	b.members(t, b.project, seg, true, "m-0")

	var first struct{ SegmentMembershipChanged membershipChange }
	c.next(t, "1", &first)
	got := first.SegmentMembershipChanged
	require.Equal(t, 1, got.Seq)
	require.Equal(t, 2, got.Size)
	require.Equal(t, 2, got.EnteredCount)
	require.ElementsMatch(t, []string{"m-0", "m-1"}, got.enteredIDs())
	require.Equal(t, seg, got.Segment.ID)

	var second struct{ SegmentMembershipChanged membershipChange }
	c.next(t, "1", &second)
	got = second.SegmentMembershipChanged
	require.Equal(t, 2, got.Seq)
	require.Equal(t, 1, got.Size)
	require.Equal(t, 1, got.ExitedCount)
	require.Equal(t, "m-0", got.Exited[0].ExternalID)
}

// A dashboard loses its connection while runs commit, reconnects (here
// with the legacy protocol) with the last seq it saw, and misses nothing.
func TestResumeWithAfterSeqAfterADisconnect(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "r", 4)
	c := dialLive(t, b.server.URL, b.project.Read, "graphql-transport-ws")
	c.start(t, "1", membershipSubscription, map[string]any{"id": seg})
	b.waitSubscribers(t, 1)
	b.members(t, b.project, seg, false, "r-0")
	var change struct{ SegmentMembershipChanged membershipChange }
	c.next(t, "1", &change)
	require.Equal(t, 1, change.SegmentMembershipChanged.Seq)

	require.NoError(t, c.conn.Close(websocket.StatusNormalClosure, "bye"))
	b.waitSubscribers(t, 0)
	b.members(t, b.project, seg, false, "r-1")
	b.members(t, b.project, seg, false, "r-2")

	c = dialLive(t, b.server.URL, b.project.Read, "graphql-ws")
	c.start(t, "2", membershipSubscription, map[string]any{"id": seg, "after": 1})
	for _, want := range []struct {
		seq     int
		entered string
	}{{2, "r-1"}, {3, "r-2"}} {
		c.next(t, "2", &change)
		require.Equal(t, want.seq, change.SegmentMembershipChanged.Seq)
		require.Equal(t, []string{want.entered}, change.SegmentMembershipChanged.enteredIDs())
	}
	b.members(t, b.project, seg, false, "r-3")
	c.next(t, "2", &change)
	require.Equal(t, 4, change.SegmentMembershipChanged.Seq)
}

func TestSubscriptionsAreProjectScoped(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	other := b.newProject(t, t.Name()+" other")
	mine := b.staticSegment(t, b.project, "a", 1)
	theirs := b.staticSegment(t, other, "b", 1)

	c := dialLive(t, b.server.URL, other.Read, "graphql-transport-ws")
	c.start(t, "foreign", membershipSubscription, map[string]any{"id": mine})
	msg := c.read(t)
	require.Equal(t, "foreign", msg["id"])
	require.Contains(t, []any{"next", "error"}, msg["type"])
	require.Contains(t, strings.ToLower(toJSON(t, msg["payload"])), "not found")

	c.start(t, "all", `subscription { segmentsChanged { `+changeFields+` } }`, nil)
	b.waitSubscribers(t, 1)
	// This project's run commits first; the other project's key must see
	// only its own, which commits second.
	b.members(t, b.project, mine, false, "a-0")
	b.members(t, other, theirs, false, "b-0")
	for {
		msg := c.read(t)
		if msg["id"] == "foreign" {
			continue // the refused subscription's completion
		}
		require.Equal(t, "all", msg["id"])
		require.Contains(t, toJSON(t, msg["payload"]), `"externalId":"b-0"`)
		require.NotContains(t, toJSON(t, msg["payload"]), "a-0")
		return
	}
}

func TestSubscriptionsNeedTheReadRole(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "k", 1)
	c := dialLive(t, b.server.URL, b.project.Ingest, "graphql-transport-ws")
	c.start(t, "1", membershipSubscription, map[string]any{"id": seg})
	msg := c.read(t)
	require.Contains(t, toJSON(t, msg["payload"]), "FORBIDDEN")
}

func TestSegmentRunUpdatedEndsAfterTheFinalState(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "s", 1)
	var out struct{ AddSegmentMembers struct{ ID string } }
	b.query(t, b.project.Admin, `mutation($id: ID!) { addSegmentMembers(id: $id, externalIds: ["s-0"]) { id } }`,
		map[string]any{"id": seg}, &out)
	c := dialLive(t, b.server.URL, b.project.Read, "graphql-transport-ws")
	c.start(t, "1", `subscription($id: ID!) { segmentRunUpdated(runId: $id) { id status seq enteredCount entered(first: 5) { totalCount edges { node { externalId } } } } }`,
		map[string]any{"id": out.AddSegmentMembers.ID})
	var run struct {
		SegmentRunUpdated struct {
			Status       string
			Seq          int
			EnteredCount int
			Entered      struct {
				TotalCount int
				Edges      []struct{ Node struct{ ExternalID string } }
			}
		}
	}
	c.next(t, "1", &run)
	require.Equal(t, "COMPLETED", run.SegmentRunUpdated.Status)
	require.Equal(t, 1, run.SegmentRunUpdated.Seq)
	require.Equal(t, 1, run.SegmentRunUpdated.Entered.TotalCount)
	require.Equal(t, "s-0", run.SegmentRunUpdated.Entered.Edges[0].Node.ExternalID)
	require.Equal(t, "complete", c.read(t)["type"])
}

// subscribeOverSmallSockets makes a static segment and n users named
// prefix-0..n-1, and subscribes (id "1") to the segment's changes over
// sockets with small buffers on both ends, so that one run moving all the
// users is more than the sockets hold.
func (b *liveBundle) subscribeOverSmallSockets(t *testing.T, prefix string, n int) (segmentID string, externalIDs []string, c *wsClient) {
	t.Helper()
	b.useSmallSocketBuffers(t)
	segmentID = b.staticSegment(t, b.project, prefix, 0)
	externalIDs = make([]string, n)
	for i := range externalIDs {
		externalIDs[i] = prefix + "-" + itoa(i)
	}
	b.ingestUsers(t, externalIDs)
	c = dialLiveSmall(t, b.server.URL, b.project.Read)
	c.start(t, "1", membershipSubscription, map[string]any{"id": segmentID})
	b.waitSubscribers(t, 1)
	return segmentID, externalIDs, c
}

// A client that stops reading while runs keep coming is cut off with 1008
// and a reason that says where to resume, instead of buffering without end.
func TestSlowConsumerIsClosedWithAReason(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 2)
	seg, ids, c := b.subscribeOverSmallSockets(t, "slow", 1000)

	// Each run moves 1,000 users in or out: megabytes the client never
	// reads, until the socket, then the subscriber's buffer, are full.
	for i := 0; b.subscriberCount() > 0; i++ {
		require.Less(t, i, 100, "the subscriber was never dropped")
		b.members(t, b.project, seg, i%2 == 1, ids...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		var msg map[string]any
		err := wsjson.Read(ctx, c.conn, &msg)
		if err != nil {
			require.Equal(t, websocket.StatusPolicyViolation, websocket.CloseStatus(err), "error: %v", err)
			var closeErr websocket.CloseError
			require.ErrorAs(t, err, &closeErr)
			require.Contains(t, closeErr.Reason, "slow consumer")
			require.Contains(t, closeErr.Reason, "afterSeq")
			return
		}
	}
}

// A message larger than the socket takes at once is finished by the
// connection's writer before anything else is written: a client that
// starts reading only once the runs are committed gets every message
// whole and in order, with WebSocket pings answered in between.
func TestMessagesLargerThanTheSocketArriveWhole(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	const users, runs = 1000, 6
	seg, ids, c := b.subscribeOverSmallSockets(t, "whole", users)
	for i := range runs {
		b.members(t, b.project, seg, i%2 == 1, ids...)
	}

	ctx, stopPings := context.WithCancel(context.Background())
	pinged := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := c.conn.Ping(ctx); err != nil && ctx.Err() == nil {
				pinged <- err
				return
			}
		}
		pinged <- nil
	}()
	first := 0
	for i := range runs {
		var change struct{ SegmentMembershipChanged membershipChange }
		c.next(t, "1", &change)
		got := change.SegmentMembershipChanged
		if i == 0 {
			first = got.Seq
		}
		require.Equal(t, first+i, got.Seq, "runs in order")
		moved := got.Entered
		if i%2 == 1 {
			moved = got.Exited
		}
		require.Len(t, moved, users, "run %d whole", i)
	}
	stopPings()
	require.NoError(t, <-pinged)
}

// Subscribers share a run's rendering only when they asked for the same
// thing: two operations on one segment each get exactly their own fields.
func TestSubscribersWithDifferentSelectionsGetTheirOwnFields(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "f", 1)
	c := dialLive(t, b.server.URL, b.project.Read, "graphql-transport-ws")
	c.start(t, "small", `subscription($id: ID!) { segmentMembershipChanged(segmentId: $id) { seq } }`, map[string]any{"id": seg})
	c.start(t, "large", `subscription($id: ID!) { segmentMembershipChanged(segmentId: $id) { seq size entered { externalId } } }`, map[string]any{"id": seg})
	b.waitSubscribers(t, 2)
	b.members(t, b.project, seg, false, "f-0")
	got := map[string]string{}
	for len(got) < 2 {
		msg := c.read(t)
		got[msg["id"].(string)] = toJSON(t, msg["payload"])
	}
	require.JSONEq(t, `{"data":{"segmentMembershipChanged":{"seq":1}}}`, got["small"])
	require.JSONEq(t, `{"data":{"segmentMembershipChanged":{"seq":1,"size":1,"entered":[{"externalId":"f-0"}]}}}`, got["large"])
}

// Over Server-Sent Events, a subscription replays and then goes live like
// over a WebSocket.
func TestSegmentMembershipChangedOverSSE(t *testing.T) {
	t.Parallel()
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "e", 2)
	b.members(t, b.project, seg, false, "e-0")
	body, err := json.Marshal(map[string]any{"query": membershipSubscription, "variables": map[string]any{"id": seg, "after": 0}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.server.URL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+b.project.Read)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	events := bufio.NewScanner(res.Body)
	nextChange := func() membershipChange {
		for events.Scan() {
			if data, ok := strings.CutPrefix(events.Text(), "data: "); ok {
				var msg struct {
					Data   struct{ SegmentMembershipChanged membershipChange }
					Errors []any
				}
				require.NoError(t, json.Unmarshal([]byte(data), &msg))
				require.Empty(t, msg.Errors, data)
				return msg.Data.SegmentMembershipChanged
			}
		}
		t.Fatalf("the stream ended: %v", events.Err())
		return membershipChange{}
	}
	first := nextChange()
	require.Equal(t, 1, first.Seq)
	require.Equal(t, []string{"e-0"}, first.enteredIDs())
	b.waitSubscribers(t, 1)
	b.members(t, b.project, seg, false, "e-1")
	second := nextChange()
	require.Equal(t, 2, second.Seq)
	require.Equal(t, []string{"e-1"}, second.enteredIDs())
}
