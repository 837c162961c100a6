package privacy_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/recompute"
)

// One River client works the full recomputes of every test of the
// package, as a serving process would. It does not sweep: the sweep would
// dispatch passes for every project's marks, and the other tests count
// theirs; the test that wants passes runs them itself (RunPass, the code of
// the pass job).
var (
	clientOnce sync.Once
	client     *river.Client[*sql.Tx]
	clientErr  error
)

func riverClient(t *testing.T) *river.Client[*sql.Tx] {
	t.Helper()
	clientOnce.Do(func() {
		var c *jobs.Client
		c, clientErr = jobs.NewClient(pgtest.DB(t), jobs.Config{Work: true, PollInterval: 20 * time.Millisecond,
			SchedulePeriod: -1, ReconcilePeriod: 200 * time.Millisecond, RescueInterval: 200 * time.Millisecond,
			SweepPeriod: -1})
		if clientErr == nil {
			client, clientErr = c.River, c.Start(context.Background())
		}
	})
	require.NoError(t, clientErr)
	return client
}

// TestEraseWhileIngestAndRecompute erases users (suppressing them) while
// other users' events stream in, recomputes run as River jobs, real-time
// passes follow the changes and messages for the users being erased keep
// coming. Afterwards every message of the other users is
// stored and counted in their rollups, nothing of the erased users is left
// or came back, and a final full recompute of each real-time segment finds
// nothing to change and no drift: the erasure runs and the other runs
// interleaved without losing a change.
func TestEraseWhileIngestAndRecompute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	enqueuer := recompute.NewEnqueuer(b.db, riverClient(t))
	tag := fmt.Sprint(b.projectID)
	keep, gone := names("keep-"+tag, 40), names("gone-"+tag, 30)
	for i, id := range append(append([]string{}, keep...), gone...) {
		b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: id, AnonymousID: "a-" + id,
			Traits: map[string]any{"plan": []string{"pro", "free"}[i%2]}, MessageID: "seed-id-" + id, Timestamp: time.Now().UTC()},
			trackBy(id, "seed-ev-"+id))
	}
	segments := []int{b.exporters, b.pro, b.vip}
	b.recomputeAll(t, enqueuer, segments)

	var (
		wg                     sync.WaitGroup
		erasing                = make(chan struct{})
		keepSent               = make([]int, len(keep))
		failures               = make(chan error, 16)
		suppressed, goneStored int
	)
	fail := func(err error) {
		if err != nil {
			failures <- err
		}
	}
	wg.Go(func() { // the other users' traffic
		for round := range 25 {
			var msgs []ingest.Message
			for i, id := range keep {
				msgs = append(msgs, trackBy(id, fmt.Sprintf("k-%s-%d", id, round)))
				keepSent[i]++
				if round%5 == i%5 {
					msgs = append(msgs, ingest.Message{Type: ingest.TypeIdentify, UserID: id, MessageID: fmt.Sprintf("kt-%s-%d", id, round),
						Traits: map[string]any{"plan": []string{"pro", "free"}[(round+i)%2]}, Timestamp: time.Now().UTC()})
				}
			}
			res, err := b.writer.Write(b.ingest, msgs)
			fail(err)
			if err == nil && (res.Accepted != len(msgs) || res.Suppressed != 0) {
				fail(fmt.Errorf("round %d: %+v of %d messages", round, res, len(msgs)))
			}
		}
	})
	wg.Go(func() { // the erased users' own traffic, before, during and after
		for round := 0; ; round++ {
			var msgs []ingest.Message
			for _, id := range gone {
				msgs = append(msgs, trackBy(id, fmt.Sprintf("g-%s-%d", id, round)), pageBy("a-"+id, fmt.Sprintf("ga-%s-%d", id, round)))
			}
			res, err := b.writer.Write(b.ingest, msgs)
			fail(err)
			suppressed += res.Suppressed
			goneStored += res.Accepted
			select {
			case <-erasing:
				if res.Suppressed == len(msgs) {
					return // every one suppressed: the erasures committed
				}
			default:
			}
		}
	})
	wg.Go(func() { // recomputes, as the scheduler or an admin would ask
		for range 6 {
			for _, seg := range segments {
				_, err := enqueuer.Enqueue(b.admin, b.projectID, seg, segmentrun.TriggerMANUAL)
				fail(err)
			}
		}
	})
	var passes sync.WaitGroup
	trafficDone := make(chan struct{})
	passes.Go(func() { // real-time passes, as their jobs would run them
		for {
			select {
			case <-trafficDone:
				return
			default:
			}
			fail(b.passes(segments[:2]))
		}
	})
	wg.Go(func() {
		defer close(erasing)
		for i := 0; i < len(gone); i += 10 {
			_, err := b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: gone[i : i+10], Suppress: true})
			fail(err)
		}
	})
	wg.Wait()
	close(trafficDone)
	passes.Wait()
	close(failures)
	for err := range failures {
		require.NoError(t, err)
	}
	require.Positive(t, suppressed)
	var runs string
	require.NoError(t, b.db.QueryRow(`SELECT string_agg(trigger || ' ' || n, ', ' ORDER BY trigger) FROM (
		SELECT trigger, count(*) n FROM segment_runs WHERE project_id = $1 GROUP BY 1) r`, b.projectID).Scan(&runs))
	t.Logf("erased users' messages: %d stored (then erased), %d suppressed; runs: %s", goneStored, suppressed, runs)

	b.settle(t, segments[:2])
	for _, run := range b.recomputeAll(t, enqueuer, segments) {
		if run.segmentID == b.vip {
			continue // static: members change only by request
		}
		require.Equal(t, [3]int{0, 0, 0}, [3]int{run.entered, run.exited, run.drift},
			"segment %d: a full recompute finds the real-time members exact", run.segmentID)
	}

	for i, id := range keep {
		var events, count, active int
		require.NoError(t, b.db.QueryRow(`SELECT (SELECT count(*) FROM events e WHERE e.project_id = u.project_id AND e.user_id = u.id),
			u.event_count, (SELECT COALESCE(sum(events), 0) FROM user_daily_activities d WHERE d.user_id = u.id)
			FROM users u WHERE u.project_id = $1 AND u.external_id = $2`, b.projectID, id).Scan(&events, &count, &active))
		require.Equal(t, [3]int{1 + keepSent[i], 1 + keepSent[i], 1 + keepSent[i]}, [3]int{events, count, active}, id)
	}
	var left int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM users WHERE project_id = $1 AND (external_id = ANY($2) OR id IN (
		SELECT user_id FROM identities WHERE project_id = $1 AND anonymous_id LIKE 'a-gone-%'))`, b.projectID, pq.Array(gone)).Scan(&left))
	require.Zero(t, left, "no erased user came back")
	require.Empty(t, findIDs(t, b.db, []string{gone[0], "a-" + gone[0], gone[29], "a-" + gone[29]}, nil))
	for _, seg := range segments {
		var size, members int
		require.NoError(t, b.db.QueryRow(`SELECT size, (SELECT count(*) FROM segment_members WHERE segment_id = $1) FROM segments WHERE id = $1`,
			seg).Scan(&size, &members))
		require.Equal(t, members, size, "segment %d", seg)
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}

// finishedRun is what a recompute changed.
type finishedRun struct {
	segmentID, entered, exited, drift int
}

// recomputeAll queues a recompute of each segment and waits for them.
func (b *bundle) recomputeAll(t *testing.T, enqueuer *recompute.Enqueuer, segments []int) []finishedRun {
	t.Helper()
	runs := make([]int, len(segments))
	for i, seg := range segments {
		var err error
		runs[i], err = enqueuer.Enqueue(b.admin, b.projectID, seg, segmentrun.TriggerMANUAL)
		require.NoError(t, err)
	}
	out := make([]finishedRun, len(runs))
	for i, id := range runs {
		out[i] = finishedRun{segmentID: segments[i]}
		b.poll(t, fmt.Sprintf("run %d committed", id), func() bool {
			var status string
			var drift sql.NullInt64
			require.NoError(t, b.db.QueryRow(`SELECT status, entered_count, exited_count, drift FROM segment_runs WHERE id = $1`, id).
				Scan(&status, &out[i].entered, &out[i].exited, &drift))
			out[i].drift = int(drift.Int64)
			return status == "COMPLETED"
		})
	}
	return out
}

// passes runs the passes of segments until they have no marks.
func (b *bundle) passes(segments []int) error {
	for _, seg := range segments {
		if err := recompute.RunPass(context.Background(), b.db, recompute.PassArgs{SegmentID: seg, ProjectID: b.projectID}, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// settle waits until the project's runs are finished, then runs the
// passes of segments until no mark is left.
func (b *bundle) settle(t *testing.T, segments []int) {
	t.Helper()
	b.poll(t, "runs finished", func() bool {
		var busy bool
		require.NoError(t, b.db.QueryRow(`SELECT EXISTS (SELECT 1 FROM segment_runs WHERE project_id = $1 AND status IN ('PENDING', 'RUNNING'))`,
			b.projectID).Scan(&busy))
		return !busy
	})
	require.NoError(t, b.passes(segments))
	var marks int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM segment_dirty_users WHERE project_id = $1`, b.projectID).Scan(&marks))
	require.Zero(t, marks)
}

// poll waits for done, which reads the database, to hold: the jobs that
// make it so run in River's goroutines and report nowhere else.
func (b *bundle) poll(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
