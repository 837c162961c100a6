package webhook_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// TestRotationSignsWithBothSecrets: during a rotation's overlap a message
// carries two signatures, and the library verifies it with either secret;
// after it, only the new secret signs.
func TestRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.users(t, "ann", "bob")
	rotating := b.staticSegment(t, "Rotating")
	rotated := b.staticSegment(t, "Rotated")
	epRotating := b.endpoint(t, endpointSpec{url: rc.url(), segments: []int{rotating}, secret: secretNew, previous: secretOld, until: time.Now().Add(24 * time.Hour)})
	epRotated := b.endpoint(t, endpointSpec{url: rc.url(), segments: []int{rotated}, secret: secretNew, previous: secretOld, until: time.Now().Add(-time.Minute)})
	b.move(t, rotating, false, "ann")
	rc.wait(t, 1)
	b.move(t, rotated, false, "bob")
	got := rc.wait(t, 2)
	b.settled(t, epRotating)
	b.settled(t, epRotated)

	require.Len(t, strings.Fields(got[0].Headers.Get("webhook-signature")), 2)
	require.Len(t, strings.Fields(got[1].Headers.Get("webhook-signature")), 1)
	withOld := func(r received) received { r.Secret = secretOld; return r }
	verdicts := verifyWithLibrary(t, []received{got[0], withOld(got[0]), got[1], withOld(got[1])})
	require.Equal(t, "ok", verdicts[0], "the new secret verifies during the overlap")
	require.Equal(t, "ok", verdicts[1], "so does the previous one")
	require.Equal(t, "ok", verdicts[2], "the new secret verifies after it")
	require.Contains(t, verdicts[3], "No matching signature", "the previous one no longer does")
}

// TestRolledBackRunSendsNothing: the messages of a run whose transaction
// rolls back are gone with it, and so is the job it queued; the next
// committed run's message is the only one sent.
func TestRolledBackRunSendsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.users(t, "ann", "bob")
	seg := b.staticSegment(t, "Maybe")
	ep := b.endpoint(t, endpointSpec{url: rc.url()})

	tx, err := b.db.Begin()
	require.NoError(t, err)
	require.NoError(t, webhook.EnqueueRun(b.ctx, tx, webhook.Run{ProjectID: b.projectID, SegmentID: seg, RunID: 1, Seq: 1,
		At: time.Now(), Entered: b.userIDs(t, "ann")}))
	var inTx, jobs int
	require.NoError(t, tx.QueryRow(`SELECT count(*) FROM webhook_messages WHERE endpoint_id = $1`, ep).Scan(&inTx))
	require.Equal(t, 1, inTx, "written in the run's transaction")
	require.NoError(t, tx.Rollback())
	require.Empty(t, b.messages(t, ep))
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'webhook_deliver' AND (args->>'endpoint_id')::bigint = $1`, ep).Scan(&jobs))
	require.Zero(t, jobs)

	run := b.move(t, seg, false, "bob")
	got := rc.wait(t, 1)
	b.settled(t, ep)
	require.Len(t, rc.all(), 1)
	require.Equal(t, itoa(run), decode(t, got[0]).Data.Run.ID)
	require.Equal(t, []string{"bob"}, decode(t, got[0]).externalIDs())
}

// TestTenantIsolation: a project's runs reach its own endpoints only, even
// an endpoint of another project that names the segment's id.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	a := setup(t)
	other := newProject(t, a.db, t.Name()+" other")
	rcA, rcOther := newReceiver(t, nil), newReceiver(t, nil)
	a.users(t, "ann")
	other.users(t, "ann")
	segA := a.staticSegment(t, "A's")
	segOther := other.staticSegment(t, "Other's")
	epA := a.endpoint(t, endpointSpec{url: rcA.url()})
	epOther := other.endpoint(t, endpointSpec{url: rcOther.url()})
	epOtherNamingA := other.endpoint(t, endpointSpec{url: rcOther.url(), segments: []int{segA}})

	runA := a.move(t, segA, false, "ann")
	runOther := other.move(t, segOther, false, "ann")
	gotA, gotOther := rcA.wait(t, 1), rcOther.wait(t, 1)
	a.settled(t, epA)
	other.settled(t, epOther)
	require.Len(t, rcA.all(), 1)
	require.Len(t, rcOther.all(), 1)
	require.Equal(t, itoa(runA), decode(t, gotA[0]).Data.Run.ID)
	require.Equal(t, itoa(runOther), decode(t, gotOther[0]).Data.Run.ID)
	require.Equal(t, a.userIDs(t, "ann")[0], parseID(t, decode(t, gotA[0]).Data.Users[0].ID))
	require.Empty(t, other.messages(t, epOtherNamingA))
	var foreign int
	require.NoError(t, a.db.QueryRow(`SELECT count(*) FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id
		WHERE m.project_id <> e.project_id`).Scan(&foreign))
	require.Zero(t, foreign)
}

// TestEndpointChoosesSegmentsAndEvents: an endpoint gets the segments and
// the event types it names, nothing else.
func TestEndpointChoosesSegmentsAndEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.users(t, "ann", "bob")
	wanted := b.staticSegment(t, "Wanted")
	ignored := b.staticSegment(t, "Ignored")
	ep := b.endpoint(t, endpointSpec{url: rc.url(), segments: []int{wanted}, events: []string{webhook.EventExited}})
	b.move(t, ignored, false, "ann")
	b.move(t, wanted, false, "ann", "bob")
	b.move(t, ignored, true, "ann")
	b.move(t, wanted, true, "bob")
	got := rc.wait(t, 1)
	msgs := b.settled(t, ep)
	require.Len(t, msgs, 1)
	require.Len(t, rc.all(), 1)
	bd := decode(t, got[0])
	require.Equal(t, webhook.TypeExited, bd.Type)
	require.Equal(t, itoa(wanted), bd.Data.Segment.ID)
	require.Equal(t, []string{"bob"}, bd.externalIDs())
	require.Equal(t, 2, *bd.Data.Run.Seq)
}

// TestRunFailedIsDelivered: a recompute failing for good (its last
// attempt) sends segment.run_failed with the error, after the runs that
// committed before it; an attempt to be retried sends nothing.
func TestRunFailedIsDelivered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	var seg int
	require.NoError(t, b.db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, rule, refresh_interval_seconds, status, size, definition_version, created_at, updated_at)
		VALUES ($1, 'Broken', '', 'DYNAMIC', '{"trait":{"key":"plan","op":"EQ"}}', 900, 'PENDING', 0, 1, now(), now()) RETURNING id`, b.projectID).Scan(&seg))
	ep := b.endpoint(t, endpointSpec{url: rc.url(), events: []string{webhook.EventRunFailed}})
	worker := recompute.NewWorker(b.db)
	for _, attempt := range []int{1, 5} {
		var run int
		require.NoError(t, b.db.QueryRow(`INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, entered_count, exited_count)
			VALUES ($1, $2, 'MANUAL', 'PENDING', now(), 0, 0) RETURNING id`, b.projectID, seg).Scan(&run))
		job := &river.Job[recompute.Args]{JobRow: &rivertype.JobRow{ID: 1, Attempt: attempt, MaxAttempts: 5},
			Args: recompute.Args{SegmentID: seg, ProjectID: b.projectID, RunID: run}}
		require.Error(t, worker.Work(context.Background(), job))
		if attempt == 1 {
			require.Empty(t, b.messages(t, ep), "a failure River retries is not announced")
			continue
		}
		got := rc.wait(t, 1)
		b.settled(t, ep)
		bd := decode(t, got[0])
		require.Equal(t, webhook.TypeRunFailed, bd.Type)
		require.Equal(t, itoa(run), bd.Data.Run.ID)
		require.Nil(t, bd.Data.Run.Seq, "a failed run has no seq")
		require.Empty(t, bd.Data.Users)
		require.Contains(t, bd.Data.Error, "trait.value")
		require.Equal(t, "ok", verifyWithLibrary(t, got)[0])
	}
}

// TestRedeliverAndReplay: a delivered message is sent again on request,
// with its webhook-id; a replay from a seq sends every later message
// again, in order.
func TestRedeliverAndReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.users(t, "ann", "bob", "cid")
	seg := b.staticSegment(t, "Replayed")
	ep := b.endpoint(t, endpointSpec{url: rc.url()})
	for _, user := range []string{"ann", "bob", "cid"} {
		b.move(t, seg, false, user)
	}
	rc.wait(t, 3)
	msgs := b.settled(t, ep)

	require.NoError(t, webhook.Redeliver(b.ctx, b.db, b.projectID, msgs[1].ID))
	got := rc.wait(t, 4)
	require.Equal(t, msgs[1].WebhookID, got[3].Headers.Get("webhook-id"))
	require.Equal(t, got[1].Body, got[3].Body)

	replayed, err := webhook.Replay(b.ctx, b.db, b.projectID, ep, 1)
	require.NoError(t, err)
	require.Equal(t, 2, replayed)
	got = rc.wait(t, 6)
	require.Equal(t, msgs[1].WebhookID, got[4].Headers.Get("webhook-id"))
	require.Equal(t, msgs[2].WebhookID, got[5].Headers.Get("webhook-id"))
	after := b.settled(t, ep)
	for _, m := range after {
		require.Equal(t, "DELIVERED", m.State)
	}
	var logged int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM webhook_attempts WHERE endpoint_id = $1`, ep).Scan(&logged))
	require.Equal(t, 6, logged, "every attempt stays in the log")

	other := newProject(t, b.db, t.Name()+" other")
	require.ErrorIs(t, webhook.Redeliver(b.ctx, b.db, other.projectID, msgs[0].ID), webhook.ErrNoMessage)
	_, err = webhook.Replay(b.ctx, b.db, other.projectID, ep, 0)
	require.ErrorIs(t, err, webhook.ErrNoEndpoint)
	_, err = b.db.Exec(`UPDATE webhook_endpoints SET disabled_at = now() WHERE id = $1`, ep)
	require.NoError(t, err)
	require.ErrorIs(t, webhook.Redeliver(b.ctx, b.db, b.projectID, msgs[0].ID), webhook.ErrEndpointDisabled)
}

// TestRedeliverWakesAWaitingStream: a stream whose job waits an hour for
// its head's next retry sends a redelivered head at once.
func TestRedeliverWakesAWaitingStream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.users(t, "ann")
	seg := b.staticSegment(t, "Waiting")
	ep := b.endpoint(t, endpointSpec{url: rc.url()})
	// The state a failed attempt and its job's hand-off leave: the head
	// due in an hour, the stream's job scheduled then.
	tx, err := b.db.Begin()
	require.NoError(t, err)
	require.NoError(t, webhook.EnqueueRun(b.ctx, tx, webhook.Run{ProjectID: b.projectID, SegmentID: seg, RunID: 1, Seq: 1,
		At: time.Now(), Entered: b.userIDs(t, "ann")}))
	_, err = tx.Exec(`UPDATE webhook_messages SET attempts = 3, next_attempt_at = now() + interval '1 hour' WHERE endpoint_id = $1`, ep)
	require.NoError(t, err)
	_, err = tx.Exec(`UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour'
		WHERE kind = 'webhook_deliver' AND (args->>'endpoint_id')::bigint = $1`, ep)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	msgs := b.messages(t, ep)
	require.Equal(t, "PENDING", msgs[0].State)

	require.NoError(t, webhook.Redeliver(b.ctx, b.db, b.projectID, msgs[0].ID))
	got := rc.wait(t, 1)
	require.Equal(t, msgs[0].WebhookID, got[0].Headers.Get("webhook-id"))
	after := b.settled(t, ep)
	require.Equal(t, "DELIVERED", after[0].State)
	require.Equal(t, 1, after[0].Attempts, "a redelivered message's schedule starts over")
}

func parseID(t *testing.T, id string) int64 {
	t.Helper()
	var n int64
	for _, c := range id {
		require.True(t, c >= '0' && c <= '9', id)
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestUsersGoneSinceTheRun: a user deleted before the run wrote (by a
// merge) is not sent as entering; one whose exit the run records after its
// deletion is sent with its id alone.
func TestUsersGoneSinceTheRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.users(t, "ann", "bob", "cid")
	seg := b.staticSegment(t, "Merged")
	ep := b.endpoint(t, endpointSpec{url: rc.url(), batchSize: 10})
	ids := b.userIDs(t, "ann", "bob", "cid")
	_, err := b.db.Exec(`DELETE FROM users WHERE id IN ($1, $2)`, ids[1], ids[2])
	require.NoError(t, err)
	tx, err := b.db.Begin()
	require.NoError(t, err)
	require.NoError(t, webhook.EnqueueRun(b.ctx, tx, webhook.Run{ProjectID: b.projectID, SegmentID: seg, RunID: 1, Seq: 1,
		At: time.Now(), Entered: []int64{ids[0], ids[1]}, Exited: []int64{ids[2]}}))
	require.NoError(t, tx.Commit())
	got := rc.wait(t, 2)
	b.settled(t, ep)
	entered, exited := decode(t, got[0]), decode(t, got[1])
	require.Equal(t, []string{"ann"}, entered.externalIDs())
	require.Len(t, entered.Data.Users, 1)
	require.Len(t, exited.Data.Users, 1)
	require.Equal(t, itoa(int(ids[2])), exited.Data.Users[0].ID)
	require.Nil(t, exited.Data.Users[0].ExternalID)
	require.Nil(t, exited.Data.Users[0].Traits)
}
