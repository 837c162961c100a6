package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRequestDuringARunGetsAFollowUp: a run paused after evaluating its rule
// cannot see data that arrives then, so requests made meanwhile are not
// answered with it: they share one follow-up run, queued in the running
// run's commit, which sees the data.
func TestRequestDuringARunGetsAFollowUp(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	worker, run := pausedRun(t, c, "evaluated")
	segment := segmentOf(t, c, run)
	c.shuffle(t) // after the running run's evaluation
	followUp := c.recompute(t, worker, segment)
	require.NotEqual(t, run, followUp, "the running run cannot answer a request made after its evaluation")
	require.Equal(t, followUp, c.recompute(t, worker, segment), "requests during a run share its follow-up")
	require.Equal(t, "PENDING", c.runStatus(t, followUp))
	worker.release(t)
	c.waitRun(t, run, "COMPLETED", 60*time.Second)
	// The follow-up evaluates too: let it through its fault point.
	require.Contains(t, worker.fault(t), "run="+itoa(followUp))
	worker.release(t)
	c.waitRun(t, followUp, "COMPLETED", 60*time.Second)
	var stale int
	require.NoError(t, c.db.QueryRow(`SELECT count(*) FROM users u WHERE project_id = $1
		AND (u.traits->>'on')::boolean <> EXISTS (SELECT 1 FROM segment_members m WHERE m.segment_id = $2 AND m.user_id = u.id)`,
		c.projectID, segment).Scan(&stale))
	require.Zero(t, stale, "the follow-up saw the data sent during the first run")
	c.checkRuns(t)
}

// TestJobDeletedDuringARun: River's UI deleting a running job does not stop
// its worker; the run commits all the same. A job deleted before any
// worker took it leaves its run to the reconciliation, which queues it
// again within its period.
func TestJobDeletedDuringARun(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	worker, run := pausedRun(t, c, "evaluated")
	_, err := c.db.Exec(`DELETE FROM river_job WHERE id = (SELECT job_id FROM segment_runs WHERE id = $1)`, run)
	require.NoError(t, err)
	worker.release(t)
	c.waitRun(t, run, "COMPLETED", 60*time.Second)

	// A waiting job deleted: no worker is alive to take it meanwhile.
	worker.kill(t)
	api := c.start(t, nil, "--no-workers")
	c.shuffle(t)
	waiting := c.recompute(t, api, segmentOf(t, c, run))
	require.NotEqual(t, run, waiting)
	_, err = c.db.Exec(`DELETE FROM river_job WHERE id = (SELECT job_id FROM segment_runs WHERE id = $1)`, waiting)
	require.NoError(t, err)
	deleted := time.Now()
	c.start(t, nil)
	done := c.waitRun(t, waiting, "COMPLETED", 60*time.Second)
	t.Logf("a run whose waiting job was deleted completed %s after the deletion (worker started then)", done.Sub(deleted).Round(time.Millisecond))
	c.checkRuns(t)
}
