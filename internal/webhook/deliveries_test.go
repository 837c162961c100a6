package webhook_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// addMessage adds a message of seq to endpoint's log, as the outbox would.
func addMessage(t *testing.T, b *storeBundle, endpointID, seq int, state webhookmessage.State) *ent.WebhookMessage {
	t.Helper()
	m, err := b.client.WebhookMessage.Create().
		SetEndpointID(endpointID).
		SetSegmentID(b.segments[0].ID).
		SetRunID(seq * 10).
		SetSeq(seq).
		SetType("segment.entered").
		SetWebhookID(fmt.Sprintf("msg_%d_%d", endpointID, seq)).
		SetBody(`{"type":"segment.entered"}`).
		SetState(state).
		SetCreatedAt(time.Date(2026, 1, 1, 0, 0, seq, 0, time.UTC)).
		Save(b.ctx)
	require.NoError(t, err)
	return m
}

// addAttempt records an attempt at message; status 0 is no response.
func addAttempt(t *testing.T, b *storeBundle, message *ent.WebhookMessage, at time.Time, status int) *ent.WebhookAttempt {
	t.Helper()
	create := b.client.WebhookAttempt.Create().SetMessage(message).SetAt(at).SetLatencyMs(12)
	if status == 0 {
		create.SetError("dial tcp: connection refused")
	} else {
		create.SetStatusCode(status).SetResponseBody(fmt.Sprintf("status %d", status))
	}
	a, err := create.Save(b.ctx)
	require.NoError(t, err)
	return a
}

func (b *storeBundle) newEndpoint(t *testing.T, path string) int {
	t.Helper()
	created, err := b.store.Create(b.ctx, webhook.Definition{URL: "https://example.com/" + path, Events: []string{"ENTERED"}})
	require.NoError(t, err)
	return created.Endpoint.ID
}

// seqsOf returns the seqs of page's messages, in order.
func seqsOf(page *webhook.DeliveryPage) []int {
	seqs := []int{}
	for _, m := range page.Messages {
		seqs = append(seqs, m.Seq)
	}
	return seqs
}

func TestDeliveries(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	first, second, quiet := b.newEndpoint(t, "first"), b.newEndpoint(t, "second"), b.newEndpoint(t, "quiet")
	states := []webhookmessage.State{"DELIVERED", "DELIVERED", "FAILED", "DELIVERED", "PENDING"}
	var messages []*ent.WebhookMessage
	for i, state := range states {
		messages = append(messages, addMessage(t, b, first, i+1, state))
	}
	addMessage(t, b, second, 1, "PENDING")
	at := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	later := addAttempt(t, b, messages[2], at.Add(time.Minute), 503)
	earlier := addAttempt(t, b, messages[2], at, 0)

	pages, err := b.store.Deliveries(b.ctx, []int{first, second, quiet}, webhook.DeliveryQuery{First: 2})
	require.NoError(t, err)
	require.Equal(t, []int{5, 4}, seqsOf(pages[first]), "newest first")
	require.True(t, pages[first].HasNextPage)
	require.Equal(t, []int{1}, seqsOf(pages[second]))
	require.False(t, pages[second].HasNextPage)
	require.Empty(t, pages[quiet].Messages)
	require.False(t, pages[quiet].HasNextPage)

	m := pages[first].Messages[1].WebhookMessage
	require.Equal(t, messages[3].WebhookID, m.WebhookID)
	require.Equal(t, webhookmessage.StateDELIVERED, m.State)
	require.Equal(t, 40, *m.RunID)
	require.Equal(t, "segment.entered", m.Type)
	require.Empty(t, m.Body, "the log leaves bodies out")

	after := &webhook.Cursor{CreatedAt: m.CreatedAt, ID: m.ID}
	pages, err = b.store.Deliveries(b.ctx, []int{first}, webhook.DeliveryQuery{First: 2, After: after})
	require.NoError(t, err)
	require.Equal(t, []int{3, 2}, seqsOf(pages[first]))
	require.True(t, pages[first].HasNextPage)
	attempts := pages[first].Messages[0].Attempts
	require.Len(t, attempts, 2)
	require.Equal(t, []int{earlier.ID, later.ID}, []int{attempts[0].ID, attempts[1].ID}, "attempts oldest first")
	require.Equal(t, "dial tcp: connection refused", *attempts[0].Error)
	require.Nil(t, attempts[0].StatusCode)
	require.Equal(t, 503, *attempts[1].StatusCode)
	require.Equal(t, "status 503", attempts[1].ResponseBody)
	require.Empty(t, pages[first].Messages[1].Attempts)

	last := pages[first].Messages[1]
	pages, err = b.store.Deliveries(b.ctx, []int{first}, webhook.DeliveryQuery{First: 2, After: &webhook.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}})
	require.NoError(t, err)
	require.Equal(t, []int{1}, seqsOf(pages[first]))
	require.False(t, pages[first].HasNextPage)

	for state, want := range map[webhookmessage.State][]int{"DELIVERED": {4, 2, 1}, "FAILED": {3}, "PENDING": {5}} {
		pages, err = b.store.Deliveries(b.ctx, []int{first}, webhook.DeliveryQuery{First: 10, State: state})
		require.NoError(t, err)
		require.Equal(t, want, seqsOf(pages[first]), "state %s", state)
	}

	other := storeProject(t, b.client, t.Name()+" other")
	pages, err = b.store.Deliveries(other, []int{first, second}, webhook.DeliveryQuery{First: 10})
	require.NoError(t, err)
	require.Empty(t, pages[first].Messages, "another project reads nothing")
	require.Empty(t, pages[second].Messages)
}

func TestLastAttempts(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	busy, quiet := b.newEndpoint(t, "busy"), b.newEndpoint(t, "quiet")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old := addMessage(t, b, busy, 1, "DELIVERED")
	recent := addMessage(t, b, busy, 2, "PENDING")
	addAttempt(t, b, old, at.Add(2*time.Minute), 200)
	addAttempt(t, b, recent, at, 500)
	latest := addAttempt(t, b, recent, at.Add(3*time.Minute), 0)
	addAttempt(t, b, old, at.Add(time.Minute), 200)

	last, err := b.store.LastAttempts(b.ctx, []int{busy, quiet})
	require.NoError(t, err)
	require.Len(t, last, 1, "an endpoint never attempted has none")
	require.Equal(t, latest.ID, last[busy].ID)
	require.Equal(t, busy, last[busy].EndpointID)
	require.Equal(t, "dial tcp: connection refused", *last[busy].Error)
	require.True(t, at.Add(3*time.Minute).Equal(last[busy].At))

	other := storeProject(t, b.client, t.Name()+" other")
	last, err = b.store.LastAttempts(other, []int{busy})
	require.NoError(t, err)
	require.Empty(t, last)
}
