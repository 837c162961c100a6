package webhook_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/webhook"
)

// TestDeliversSignedMessagesInOrder: three runs of a segment, batches of
// two users: every message reaches the receiver once, in (seq, part)
// order, signed so that the official library verifies it, with the body
// the documentation describes.
func TestDeliversSignedMessagesInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.users(t, "ann", "bob", "cid", "dan", "eve")
	seg := b.staticSegment(t, "Power users")
	ep := b.endpoint(t, endpointSpec{url: rc.url(), batchSize: 2})

	run1 := b.move(t, seg, false, "eve", "ann", "cid", "bob", "dan") // 3 messages
	run2 := b.move(t, seg, true, "bob", "eve")                       // 1
	run3 := b.move(t, seg, false, "bob")                             // 1
	got := rc.wait(t, 5)
	msgs := b.settled(t, ep)
	require.Len(t, msgs, 5)

	for i, verdict := range verifyWithLibrary(t, got) {
		require.Equal(t, "ok", verdict, "message %d", i)
	}
	type seen struct {
		typ   string
		run   string
		seq   int
		users []string
	}
	var order []seen
	for i, r := range got {
		bd := decode(t, r)
		require.Equal(t, itoa(seg), bd.Data.Segment.ID)
		require.Equal(t, "Power users", bd.Data.Segment.Name)
		require.WithinDuration(t, time.Now(), bd.Timestamp, time.Minute)
		require.Equal(t, msgs[i].WebhookID, r.Headers.Get("webhook-id"), "delivered in the stored order")
		require.True(t, strings.HasPrefix(r.Headers.Get("webhook-id"), "msg_"))
		require.Equal(t, "application/json", r.Headers.Get("Content-Type"))
		for _, u := range bd.Data.Users {
			require.Equal(t, map[string]any{"plan": "pro", "name": *u.ExternalID}, u.Traits)
			require.NotEmpty(t, u.ID)
		}
		order = append(order, seen{bd.Type, bd.Data.Run.ID, *bd.Data.Run.Seq, bd.externalIDs()})
	}
	require.Equal(t, []seen{
		{webhook.TypeEntered, itoa(run1), 1, []string{"ann", "bob"}}, // users in id order: as created
		{webhook.TypeEntered, itoa(run1), 1, []string{"cid", "dan"}},
		{webhook.TypeEntered, itoa(run1), 1, []string{"eve"}},
		{webhook.TypeExited, itoa(run2), 2, []string{"bob", "eve"}},
		{webhook.TypeEntered, itoa(run3), 3, []string{"bob"}},
	}, order)
	for i, m := range msgs {
		require.Equal(t, "DELIVERED", m.State)
		require.Equal(t, 1, m.Attempts)
		require.Equal(t, []int{0, 1, 2, 0, 0}[i], m.Part)
	}
	var status, latency int
	var responseBody string
	require.NoError(t, b.db.QueryRow(`SELECT status_code, latency_ms, response_body FROM webhook_attempts WHERE message_id = $1`, msgs[0].ID).
		Scan(&status, &latency, &responseBody))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "answer 0", responseBody)
	require.GreaterOrEqual(t, latency, 0)
	require.Equal(t, []string{"delivered", "delivered", "delivered", "delivered", "delivered"}, outcomes(ep))
}

// TestRetriesKeepTheWebhookID: a receiver failing three times (503, 504,
// 500), then answering 200, gets the same
// webhook-id and body four times, each attempt freshly signed; the run
// after it waits its turn; the attempts are in the log.
func TestRetriesKeepTheWebhookID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	failures := []int{http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusInternalServerError}
	rc := newReceiver(t, func(n int, _ *http.Request) int {
		if n < len(failures) {
			return failures[n]
		}
		return http.StatusOK
	})
	b.users(t, "ann", "bob")
	seg := b.staticSegment(t, "Trial")
	ep := b.endpoint(t, endpointSpec{url: rc.url()})
	b.move(t, seg, false, "ann")
	b.move(t, seg, false, "bob")
	got := rc.wait(t, 5)
	msgs := b.settled(t, ep)
	require.Len(t, msgs, 2)
	for i := range 4 {
		require.Equal(t, msgs[0].WebhookID, got[i].Headers.Get("webhook-id"), "attempt %d", i+1)
		require.Equal(t, got[0].Body, got[i].Body, "the same bytes on every attempt")
	}
	require.Equal(t, msgs[1].WebhookID, got[4].Headers.Get("webhook-id"), "the next run's message only after the first succeeded")
	require.Len(t, rc.all(), 5)
	for i, verdict := range verifyWithLibrary(t, got) {
		require.Equal(t, "ok", verdict, "attempt %d", i)
	}
	require.Equal(t, messageRow{ID: msgs[0].ID, WebhookID: msgs[0].WebhookID, Type: webhook.TypeEntered, Segment: seg, Seq: 1,
		State: "DELIVERED", Attempts: 4}, msgs[0])
	var statuses []int
	rows, err := b.db.Query(`SELECT status_code FROM webhook_attempts WHERE message_id = $1 ORDER BY at, id`, msgs[0].ID)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var s int
		require.NoError(t, rows.Scan(&s))
		statuses = append(statuses, s)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int{503, 504, 500, 200}, statuses)
	var failingSince *time.Time
	require.NoError(t, b.db.QueryRow(`SELECT failing_since FROM webhook_endpoints WHERE id = $1`, ep).Scan(&failingSince))
	require.Nil(t, failingSince, "a success clears the failure")
	require.Equal(t, []string{"failed", "failed", "failed", "delivered", "delivered"}, outcomes(ep))
}
