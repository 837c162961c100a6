package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/webhook"
)

// crashSecret is the crash tests' endpoint secret.
const crashSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookReceiver is a real receiver that verifies every request's signature
// and records what it got, in order.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []receivedHook
	bad []string
}

type receivedHook struct {
	id   string
	body []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err == nil {
			err = webhook.Verify(crashSecret, r.Header, body, time.Now(), webhook.DefaultTolerance)
		}
		if err != nil {
			rc.bad = append(rc.bad, err.Error())
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.got = append(rc.got, receivedHook{id: r.Header.Get("webhook-id"), body: body})
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *hookReceiver) received(t *testing.T) []receivedHook {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Empty(t, rc.bad, "every request verified")
	return append([]receivedHook(nil), rc.got...)
}

// endpoint creates an endpoint of the cluster's project for every segment
// and event, in batches of batchSize.
func (c *cluster) endpoint(t *testing.T, url string, batchSize int) int {
	t.Helper()
	var id int
	require.NoError(t, c.db.QueryRow(`INSERT INTO webhook_endpoints (project_id, kind, url, description, segment_ids, events, batch_size,
		secret, created_at, updated_at) VALUES ($1, 'WEBHOOK', $2, '', '[]', '["ENTERED","EXITED","RUN_FAILED"]', $3, $4, now(), now()) RETURNING id`,
		c.projectID, url, batchSize, crashSecret).Scan(&id))
	return id
}

// storedMessages are the webhook ids of the endpoint's messages in
// delivery order, and their states.
func (c *cluster) storedMessages(t *testing.T, endpoint int) (ids []string, states map[string]string) {
	t.Helper()
	rows, err := c.db.Query(`SELECT webhook_id, state FROM webhook_messages WHERE endpoint_id = $1 ORDER BY segment_id, seq, id`, endpoint)
	require.NoError(t, err)
	defer rows.Close()
	states = map[string]string{}
	for rows.Next() {
		var id, state string
		require.NoError(t, rows.Scan(&id, &state))
		ids = append(ids, id)
		states[id] = state
	}
	require.NoError(t, rows.Err())
	return ids, states
}

// waitDelivered waits until every message of the endpoint is DELIVERED.
func (c *cluster) waitDelivered(t *testing.T, endpoint int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ids, states := c.storedMessages(t, endpoint)
		done := len(ids) > 0
		for _, state := range states {
			done = done && state == "DELIVERED"
		}
		if done {
			return ids
		}
		require.True(t, time.Now().Before(deadline), "messages not delivered after %s: %v", timeout, states)
		time.Sleep(50 * time.Millisecond)
	}
}

// requireEveryMemberSent checks that the entered messages the receiver
// got name exactly the segment's members.
func (c *cluster) requireEveryMemberSent(t *testing.T, segment int, got []receivedHook) {
	t.Helper()
	sent := map[string]bool{}
	for _, h := range got {
		var b struct {
			Type string
			Data struct{ Users []struct{ ID string } }
		}
		require.NoError(t, json.Unmarshal(h.body, &b))
		require.Equal(t, webhook.TypeEntered, b.Type)
		for _, u := range b.Data.Users {
			sent[u.ID] = true
		}
	}
	var members []string
	rows, err := c.db.Query(`SELECT user_id::text FROM segment_members WHERE segment_id = $1`, segment)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		members = append(members, id)
	}
	require.NoError(t, rows.Err())
	var names []string
	for id := range sent {
		names = append(names, id)
	}
	sort.Strings(members)
	sort.Strings(names)
	require.NotEmpty(t, members)
	require.Equal(t, members, names, "every member was sent")
}

// TestKillMidDeliveryResendsTheSameMessage kills a process (SIGKILL) after
// its receiver answered 200 to a message and before the attempt's
// transaction committed: the message is still pending, so another process
// (alive all along) sends it again with the same webhook-id and body, then
// every later message, in order; nothing is lost, and only the killed
// attempt's message arrives twice.
func TestKillMidDeliveryResendsTheSameMessage(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	rc := newHookReceiver(t)
	endpoint := c.endpoint(t, rc.srv.URL+"/hook", 10)
	worker := c.start(t, []string{"PULSE_FAULT_PAUSE=webhook-sent"}, "--webhooks-allow-private")
	c.users(t, 300)
	segment := c.dynamicSegment(t, worker, "on")
	line := worker.fault(t)
	require.Contains(t, line, "at=webhook-sent")
	require.Contains(t, line, "status=200")
	first := rc.received(t)
	require.Len(t, first, 1, "the paused attempt's message reached the receiver")
	require.Contains(t, line, "message="+first[0].id)

	c.start(t, nil, "--webhooks-allow-private")
	killed := worker.kill(t)
	ids := c.waitDelivered(t, endpoint, 60*time.Second)
	t.Logf("%d messages delivered by the live process %s after the kill", len(ids), time.Since(killed).Round(time.Millisecond))

	got := rc.received(t)
	require.Len(t, got, len(ids)+1, "each message once, the killed attempt's twice")
	require.Equal(t, first[0].id, got[1].id, "sent again with the same webhook-id")
	require.Equal(t, first[0].body, got[1].body, "and the same bytes")
	order := []string{got[0].id}
	for _, h := range got[2:] {
		order = append(order, h.id)
	}
	require.Equal(t, ids, order, "in order, nothing lost")
	var attemptsOfFirst int
	require.NoError(t, c.db.QueryRow(`SELECT count(*) FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id
		WHERE m.webhook_id = $1`, first[0].id).Scan(&attemptsOfFirst))
	require.Equal(t, 1, attemptsOfFirst, "the killed attempt left no row: its transaction never committed")
	c.requireEveryMemberSent(t, segment, got)
	c.checkRuns(t)
}

// TestKillBetweenCommitAndDeliverySendsEverything kills the only process
// right after a run committed, before any delivery: a process started
// afterwards delivers every message of the run, each once. The killed
// process runs without --webhooks-allow-private, so its attempts at the
// receiver (http, on 127.0.0.1) are refused before they connect: none
// reaches it before the kill, whatever the timing.
func TestKillBetweenCommitAndDeliverySendsEverything(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	rc := newHookReceiver(t)
	endpoint := c.endpoint(t, rc.srv.URL+"/hook", 25)
	worker, run := pausedRun(t, c, "committed")
	ids, states := c.storedMessages(t, endpoint)
	require.NotEmpty(t, ids, "the messages committed with run %d", run)
	for _, state := range states {
		require.Equal(t, "PENDING", state)
	}
	worker.kill(t)
	require.Empty(t, rc.received(t))
	var notRefused []string
	rows, err := c.db.Query(`SELECT COALESCE(status_code::text, '-') || ' ' || COALESCE(error, '') FROM webhook_attempts WHERE endpoint_id = $1
		AND (error IS NULL OR (error NOT LIKE '%not a public address%' AND error NOT LIKE '%not https%'))`, endpoint)
	require.NoError(t, err)
	for rows.Next() {
		var attempt string
		require.NoError(t, rows.Scan(&attempt))
		notRefused = append(notRefused, attempt)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Empty(t, notRefused, "the killed process's attempts, if any, were refused")

	c.start(t, nil, "--webhooks-allow-private")
	delivered := c.waitDelivered(t, endpoint, 60*time.Second)
	require.Equal(t, ids, delivered)
	got := rc.received(t)
	require.Len(t, got, len(ids), "each message once")
	for i, h := range got {
		require.Equal(t, ids[i], h.id)
		require.True(t, strings.HasPrefix(h.id, "msg_"))
	}
	c.requireEveryMemberSent(t, segmentOf(t, c, run), got)
	c.checkRuns(t)
}
