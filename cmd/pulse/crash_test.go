package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pausedRun starts a worker that stops at the fault point, creates a
// segment through it and waits until its first run is there; it returns
// the worker and the run.
func pausedRun(t *testing.T, c *cluster, point string) (*pulseProcess, int) {
	t.Helper()
	worker := c.start(t, []string{"PULSE_FAULT_PAUSE=" + point})
	c.users(t, 300)
	segment := c.dynamicSegment(t, worker, "on")
	line := worker.fault(t)
	require.Contains(t, line, "at="+point)
	var run int
	require.NoError(t, c.db.QueryRow(`SELECT id FROM segment_runs WHERE segment_id = $1`, segment).Scan(&run))
	require.Contains(t, line, "run="+itoa(run))
	return worker, run
}

// TestKillAfterCommitLeavesTheRunAlone kills a worker right after its run
// committed, before the worker returned: the job was completed in that
// commit, so no process runs it again, and the run keeps its seq and the
// counts of the intervals it wrote.
func TestKillAfterCommitLeavesTheRunAlone(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	worker, run := pausedRun(t, c, "committed")
	worker.kill(t)
	var jobState string
	require.NoError(t, c.db.QueryRow(`SELECT j.state FROM segment_runs r JOIN river_job j ON j.id = r.job_id WHERE r.id = $1`, run).Scan(&jobState))
	require.Equal(t, "completed", jobState, "the job completed with its run")
	type snapshot struct{ seq, entered, size int }
	read := func() (s snapshot) {
		require.NoError(t, c.db.QueryRow(`SELECT seq, entered_count, size_after FROM segment_runs WHERE id = $1`, run).Scan(&s.seq, &s.entered, &s.size))
		return s
	}
	before := read()
	require.Equal(t, 1, before.seq)

	// A new process finds nothing to rescue; a new request makes a new run.
	next := c.start(t, nil)
	c.shuffle(t)
	second := c.recompute(t, next, segmentOf(t, c, run))
	require.NotEqual(t, run, second)
	c.waitRun(t, second, "COMPLETED", 60*time.Second)
	require.Equal(t, before, read(), "the committed run is not rewritten")
	c.checkRuns(t)
}

// TestKillMidRunIsRetriedByALiveProcess kills a worker while its run is
// RUNNING (rule evaluated; or diff written, not committed): another worker,
// alive all along, retries it within 60 s, with no restart.
func TestKillMidRunIsRetriedByALiveProcess(t *testing.T) {
	t.Parallel()
	binary := buildFaultPulse(t)
	for _, point := range []string{"evaluated", "written"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, binary)
			worker, run := pausedRun(t, c, point)
			c.start(t, nil)
			require.Equal(t, "RUNNING", c.runStatus(t, run))
			killed := worker.kill(t)
			done := c.waitRun(t, run, "COMPLETED", 60*time.Second)
			t.Logf("killed at %s: run retried and completed by the live process %s after the kill", point, done.Sub(killed).Round(time.Millisecond))
			c.checkRuns(t)
		})
	}
}

// TestKillMidRunIsRetriedByTheNextProcess: the only worker is killed mid-run;
// a worker started afterwards retries the run at once.
func TestKillMidRunIsRetriedByTheNextProcess(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	worker, run := pausedRun(t, c, "evaluated")
	killed := worker.kill(t)
	c.start(t, nil)
	done := c.waitRun(t, run, "COMPLETED", 60*time.Second)
	t.Logf("run retried and completed by a process started after the kill %s after the kill", done.Sub(killed).Round(time.Millisecond))
	c.checkRuns(t)
}

// TestLongRunOfALiveProcessRunsOnce: a run paused in a live worker is left
// to it by the other worker's rescue passes, however many, and completes
// in one attempt.
func TestLongRunOfALiveProcessRunsOnce(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	worker, run := pausedRun(t, c, "evaluated")
	other := c.start(t, nil, "--log-level", "debug")
	for range 3 {
		select {
		case <-other.passes:
		case <-time.After(30 * time.Second):
			t.Fatal("the other worker made no rescue pass")
		}
	}
	var attempt int
	var attemptedBy string
	require.NoError(t, c.db.QueryRow(`SELECT j.attempt, array_to_string(j.attempted_by, ',') FROM segment_runs r JOIN river_job j ON j.id = r.job_id
		WHERE r.id = $1 AND j.state = 'running'`, run).Scan(&attempt, &attemptedBy))
	require.Equal(t, 1, attempt)
	require.NotContains(t, attemptedBy, ",", "one process took the job")
	worker.release(t)
	c.waitRun(t, run, "COMPLETED", 60*time.Second)
	var errors int
	require.NoError(t, c.db.QueryRow(`SELECT j.attempt, COALESCE(cardinality(j.errors), 0) FROM segment_runs r JOIN river_job j ON j.id = r.job_id
		WHERE r.id = $1`, run).Scan(&attempt, &errors))
	require.Equal(t, 1, attempt)
	require.Zero(t, errors)
	c.checkRuns(t)
}

func segmentOf(t *testing.T, c *cluster, run int) int {
	t.Helper()
	var segment int
	require.NoError(t, c.db.QueryRow(`SELECT segment_id FROM segment_runs WHERE id = $1`, run).Scan(&segment))
	return segment
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestKillMidPassLosesNoChange kills a worker while an incremental pass has
// written its run but not committed: nothing of it stays, the marks are
// still there, and the next process's pass moves the segment exactly as
// the rule says; a full recompute then finds no drift.
func TestKillMidPassLosesNoChange(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	worker := c.start(t, []string{"PULSE_FAULT_PAUSE=pass-written"})
	c.users(t, 50)
	segment := c.dynamicSegment(t, worker, "on")
	var first int
	require.NoError(t, c.db.QueryRow(`SELECT id FROM segment_runs WHERE segment_id = $1`, segment).Scan(&first))
	c.waitRun(t, first, "COMPLETED", 60*time.Second)

	// Switch every user off through the API: each change marks its user.
	var msgs []map[string]any
	for i := 1; i <= 50; i++ {
		msgs = append(msgs, map[string]any{"type": "identify", "userId": "u" + strconv.Itoa(i), "traits": map[string]any{"on": false},
			"messageId": "off-" + strconv.Itoa(i)})
	}
	batch(t, worker.base, c.admin, msgs...)
	require.Contains(t, worker.fault(t), "at=pass-written")
	worker.kill(t)
	var marks, passes int
	require.NoError(t, c.db.QueryRow(`SELECT (SELECT count(*) FROM segment_dirty_users WHERE segment_id = $1),
		(SELECT count(*) FROM segment_runs WHERE segment_id = $1 AND trigger = 'INGEST')`, segment).Scan(&marks, &passes))
	require.Positive(t, marks, "the killed pass's marks are still there")
	require.Zero(t, passes, "the killed pass left no run")

	next := c.start(t, nil)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var size, left int
		require.NoError(t, c.db.QueryRow(`SELECT size, (SELECT count(*) FROM segment_dirty_users WHERE segment_id = $1) FROM segments WHERE id = $1`,
			segment).Scan(&size, &left))
		if size == 0 && left == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the segment has %d members and %d marks", size, left)
		time.Sleep(50 * time.Millisecond)
	}
	run := c.recompute(t, next, segment)
	c.waitRun(t, run, "COMPLETED", 60*time.Second)
	var drift, moved int
	require.NoError(t, c.db.QueryRow(`SELECT drift, entered_count + exited_count FROM segment_runs WHERE id = $1`, run).Scan(&drift, &moved))
	require.Zero(t, drift)
	require.Zero(t, moved)
	c.checkRuns(t)
}

// TestKillMidErasureLeavesTheUser kills a process while an erasure it
// serves has written its ERASURE run but not committed: the user, their
// rows and their memberships are all there, no run or record of the
// erasure is left, and another process then erases the user with the next
// seq, no gap.
func TestKillMidErasureLeavesTheUser(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	p := c.start(t, []string{"PULSE_FAULT_PAUSE=erasure-written"})
	c.users(t, 50)
	segment := c.dynamicSegment(t, p, "on")
	var run int
	require.NoError(t, c.db.QueryRow(`SELECT id FROM segment_runs WHERE segment_id = $1`, segment).Scan(&run))
	c.waitRun(t, run, "COMPLETED", 60*time.Second)
	var member string
	require.NoError(t, c.db.QueryRow(`SELECT u.external_id FROM segment_members m JOIN users u ON u.id = m.user_id
		WHERE m.segment_id = $1 ORDER BY u.id LIMIT 1`, segment).Scan(&member))
	type state struct{ users, members, size, runs, erasures int }
	read := func() (s state) {
		require.NoError(t, c.db.QueryRow(`SELECT (SELECT count(*) FROM users WHERE project_id = $1),
			(SELECT count(*) FROM segment_members WHERE segment_id = $2), (SELECT size FROM segments WHERE id = $2),
			(SELECT count(*) FROM segment_runs WHERE segment_id = $2), (SELECT count(*) FROM user_erasures WHERE project_id = $1)`,
			c.projectID, segment).Scan(&s.users, &s.members, &s.size, &s.runs, &s.erasures))
		return s
	}
	before := read()
	const erase = `mutation($id: String!) { deleteUser(externalId: $id, suppress: true) { suppressed } }`
	answered := make(chan error, 1)
	go func() {
		_, err := postGraphQL(strings.TrimPrefix(p.base, "http://"), c.admin, erase, map[string]any{"id": member})
		answered <- err
	}()
	require.Contains(t, p.fault(t), "at=erasure-written")
	p.kill(t)
	require.Error(t, <-answered, "the erasure never answered")
	require.Equal(t, before, read(), "nothing of the erasure was committed")

	next := c.start(t, nil)
	require.JSONEq(t, `{"data":{"deleteUser":{"suppressed":true}}}`, string(graphqlPost(t, next.base, c.admin, erase, map[string]any{"id": member})))
	after := read()
	require.Equal(t, state{users: before.users - 1, members: before.members - 1, size: before.size - 1, runs: before.runs + 1, erasures: 1}, after)
	var trigger string
	var seq int
	require.NoError(t, c.db.QueryRow(`SELECT trigger, seq FROM segment_runs WHERE segment_id = $1 ORDER BY seq DESC LIMIT 1`, segment).Scan(&trigger, &seq))
	require.Equal(t, "ERASURE", trigger)
	require.Equal(t, before.runs+1, seq, "the erasure's run follows the last, no gap")
}
