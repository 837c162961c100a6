package webhook_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/webhook"
)

// endpointState is an endpoint's health as stored.
type endpointState struct {
	Disabled     bool
	Reason       string
	FailingSince *time.Time
}

func (b *bundle) endpointState(t *testing.T, id int) endpointState {
	t.Helper()
	var s endpointState
	var reason *string
	require.NoError(t, b.db.QueryRow(`SELECT disabled_at IS NOT NULL, disabled_reason, failing_since FROM webhook_endpoints WHERE id = $1`, id).
		Scan(&s.Disabled, &reason, &s.FailingSince))
	if reason != nil {
		s.Reason = *reason
	}
	return s
}

// TestGoneDisablesTheEndpoint: a 410 disables the endpoint with its
// reason; its pending messages are given up, and later runs write none
// for it.
func TestGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusGone })
	b.users(t, "ann", "bob", "cid")
	seg := b.staticSegment(t, "Churned")
	ep := b.endpoint(t, endpointSpec{url: rc.url(), batchSize: 1})
	b.move(t, seg, false, "ann", "bob") // two messages; the first is answered 410
	rc.wait(t, 1)
	msgs := b.settled(t, ep)
	require.Len(t, msgs, 2)
	require.Equal(t, "FAILED", msgs[0].State)
	require.Equal(t, 1, msgs[0].Attempts)
	require.Equal(t, "FAILED", msgs[1].State)
	require.Zero(t, msgs[1].Attempts, "never sent")
	state := b.endpointState(t, ep)
	require.True(t, state.Disabled)
	require.Equal(t, "the receiver answered 410 Gone", state.Reason)

	b.move(t, seg, false, "cid")
	require.Len(t, b.messages(t, ep), 2, "a disabled endpoint gets no new message")
	require.Len(t, rc.all(), 1)
	require.Equal(t, []string{"disabled"}, outcomes(ep))
}

// TestFailingForFiveDaysDisables: an endpoint that has failed since five
// days ago is disabled at its next failure, saying since when and how.
func TestFailingForFiveDaysDisables(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusInternalServerError })
	b.users(t, "ann")
	seg := b.staticSegment(t, "Dormant")
	ep := b.endpoint(t, endpointSpec{url: rc.url()})
	_, err := b.db.Exec(`UPDATE webhook_endpoints SET failing_since = now() - interval '5 days 1 minute' WHERE id = $1`, ep)
	require.NoError(t, err)
	b.move(t, seg, false, "ann")
	rc.wait(t, 1)
	msgs := b.settled(t, ep)
	require.Equal(t, "FAILED", msgs[0].State)
	state := b.endpointState(t, ep)
	require.True(t, state.Disabled)
	require.True(t, strings.HasPrefix(state.Reason, "failing since "), state.Reason)
	require.Contains(t, state.Reason, "without a success); the last attempt: HTTP 500")
	require.Len(t, rc.all(), 1)
}

// TestGivesUpAfterTheLastAttempt: a message failing every attempt of the
// schedule is given up; the stream goes on with the next one, and the
// endpoint, failing since the first failure, is still enabled.
func TestGivesUpAfterTheLastAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, func(n int, _ *http.Request) int {
		if n < len(testSchedule) {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	b.users(t, "ann", "bob")
	seg := b.staticSegment(t, "Flaky")
	ep := b.endpoint(t, endpointSpec{url: rc.url()})
	b.move(t, seg, false, "ann")
	b.move(t, seg, false, "bob")
	rc.wait(t, len(testSchedule)+1)
	msgs := b.settled(t, ep)
	require.Equal(t, "FAILED", msgs[0].State)
	require.Equal(t, len(testSchedule), msgs[0].Attempts)
	require.Equal(t, "DELIVERED", msgs[1].State, "204 is a success")
	require.False(t, b.endpointState(t, ep).Disabled)
	got := outcomes(ep)
	require.Equal(t, "gave_up", got[len(testSchedule)-1])
	require.Equal(t, "delivered", got[len(testSchedule)])
}

// TestRetryAfterSetsTheNextAttempt: a 429's Retry-After (1 s, longer than
// the test schedule's 20 ms) decides when the message is tried again.
func TestRetryAfterSetsTheNextAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, func(n int, _ *http.Request) int {
		if n == 0 {
			return http.StatusTooManyRequests // with Retry-After: 1
		}
		return http.StatusOK
	})
	b.users(t, "ann")
	seg := b.staticSegment(t, "Busy")
	ep := b.endpoint(t, endpointSpec{url: rc.url()})
	b.move(t, seg, false, "ann")
	rc.wait(t, 2)
	b.settled(t, ep)
	var gap time.Duration
	var gapMS float64
	require.NoError(t, b.db.QueryRow(`SELECT extract(epoch FROM max(at) - min(at)) * 1000 FROM webhook_attempts WHERE endpoint_id = $1`, ep).Scan(&gapMS))
	gap = time.Duration(gapMS * float64(time.Millisecond))
	require.GreaterOrEqual(t, gap, time.Second, "the second attempt waited for Retry-After")
	require.Less(t, gap, 5*time.Second)
}

// TestDisabledEndpointGivesUpItsMessages: an endpoint disabled while its
// messages wait (by its administrator) has them given up, not sent.
func TestDisabledEndpointGivesUpItsMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.users(t, "ann")
	seg := b.staticSegment(t, "Paused")
	ep := b.endpoint(t, endpointSpec{url: rc.url()})
	// The messages and the disabling commit together: the job finds the
	// messages of a disabled endpoint.
	tx, err := b.db.Begin()
	require.NoError(t, err)
	require.NoError(t, webhook.EnqueueRun(b.ctx, tx, webhook.Run{ProjectID: b.projectID, SegmentID: seg, RunID: 1, Seq: 1,
		At: time.Now(), Entered: b.userIDs(t, "ann")}))
	_, err = tx.Exec(`UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = 'paused by an administrator' WHERE id = $1`, ep)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	msgs := b.settled(t, ep)
	require.Len(t, msgs, 1)
	require.Equal(t, "FAILED", msgs[0].State)
	require.Zero(t, msgs[0].Attempts)
	require.Empty(t, rc.all())
}
