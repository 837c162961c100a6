package recompute_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
)

// TestReexecutedJobLeavesCommittedRunAlone: a job run again after its run
// committed (River rescued it from a process killed right after the
// commit) does nothing: no RUNNING reset, no new seq, no new counts.
func TestReexecutedJobLeavesCommittedRunAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.track(t, "ann", "export")
	seg := b.segment(t, `{"event":{"name":"export"}}`)
	run1, err := b.enqueuer.Enqueue(b.ctx, b.projectID, seg, segmentrun.TriggerMANUAL)
	require.NoError(t, err)
	b.wait(t, run1, river.EventKindJobCompleted)
	committed := b.run(t, run1)
	require.Equal(t, runRow{Status: "COMPLETED", Entered: 1, Size: 1, Seq: 1}, committed)

	// New data that a rewrite would pick up, then the job made available
	// again as River's rescuer does.
	b.track(t, "bob", "export")
	_, err = b.db.Exec(`UPDATE river_job SET state = 'available', finalized_at = NULL, scheduled_at = now()
		WHERE id = (SELECT job_id FROM segment_runs WHERE id = $1)`, run1)
	require.NoError(t, err)
	b.wait(t, run1, river.EventKindJobCompleted)
	require.Equal(t, committed, b.run(t, run1), "the committed run is immutable")
	require.Equal(t, []string{"ann"}, b.members(t, seg))
	var seqs int
	require.NoError(t, b.db.QueryRow(`SELECT count(seq) FROM segment_runs WHERE segment_id = $1`, seg).Scan(&seqs))
	require.Equal(t, 1, seqs)
}

// orphan creates a run of a new segment left as River's UI leaves it: its
// job deleted (jobState "") or finalized without completing it.
func (b *bundle) orphan(t *testing.T, status, jobState string) (segmentID, runID int) {
	t.Helper()
	segmentID = b.segment(t, `{"event":{"name":"export"}}`)
	var jobID sql.NullInt64
	if jobState != "" {
		require.NoError(t, b.db.QueryRow(`INSERT INTO river_job (kind, args, state, finalized_at, max_attempts, queue, priority)
			VALUES ('recompute_segment', '{}', $1, now(), 5, 'default', 1) RETURNING id`, jobState).Scan(&jobID))
	} else {
		jobID = sql.NullInt64{Int64: 1 << 50, Valid: true} // deleted
	}
	require.NoError(t, b.db.QueryRow(`INSERT INTO segment_runs (project_id, segment_id, trigger, status, job_id, created_at, entered_count, exited_count)
		VALUES ($1, $2, 'MANUAL', $3, $4, now(), 0, 0) RETURNING id`, b.projectID, segmentID, status, jobID).Scan(&runID))
	return segmentID, runID
}

// waitStatus polls until the run has status.
func (b *bundle) waitStatus(t *testing.T, runID int, status string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for b.run(t, runID).Status != status {
		require.True(t, time.Now().Before(deadline), "run %d is %s, want %s", runID, b.run(t, runID).Status, status)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunWhoseJobVanishedIsRequeued: a PENDING or RUNNING run whose job was
// deleted gets a new job and completes; one whose job was cancelled or
// discarded is closed FAILED with the reason; either way the segment is
// no longer blocked.
func TestRunWhoseJobVanishedIsRequeued(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.track(t, "ann", "export")
	for _, status := range []string{"PENDING", "RUNNING"} {
		seg, run := b.orphan(t, status, "")
		b.waitStatus(t, run, "COMPLETED")
		require.Equal(t, []string{"ann"}, b.members(t, seg), status)
	}
	for _, state := range []string{"cancelled", "discarded"} {
		_, run := b.orphan(t, "RUNNING", state)
		b.waitStatus(t, run, "FAILED")
		require.Equal(t, fmt.Sprintf("its job was %s before the run could complete", state), b.run(t, run).Error.String)
	}

	// A follow-up whose running job failed for good is queued too.
	seg, followUp := b.orphan(t, "PENDING", "")
	_, err := b.db.Exec(`UPDATE segment_runs SET job_id = NULL WHERE id = $1`, followUp)
	require.NoError(t, err)
	b.waitStatus(t, followUp, "COMPLETED")
	require.Equal(t, []string{"ann"}, b.members(t, seg))
}
