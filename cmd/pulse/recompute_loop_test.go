package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/recompute"
)

// TestRecomputeRightAfterCommitIsNeverLost: with two worker processes, 100
// recomputeSegment requests in a row, each sent the instant the previous run
// is announced COMPLETED (its commit), each get a new run that completes.
// River marking a job completed after the run's own commit (a batch, 50 to
// 250 ms later) answered most of them with the run that had just finished.
func TestRecomputeRightAfterCommitIsNeverLost(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildPulse(t))
	api := c.start(t, nil)
	c.start(t, nil)
	c.users(t, 50)
	segment := c.dynamicSegment(t, api, "on")
	var first int // the run of the segment's definition
	require.NoError(t, c.db.QueryRow(`SELECT id FROM segment_runs WHERE segment_id = $1`, segment).Scan(&first))
	c.waitRun(t, first, "COMPLETED", 30*time.Second)

	listener := pq.NewListener(c.dsn, 10*time.Millisecond, time.Second, nil)
	t.Cleanup(func() { _ = listener.Close() })
	require.NoError(t, listener.Listen(recompute.NotifyChannel))
	committed := func(run int) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case n := <-listener.Notify:
				if n == nil {
					continue // reconnected
				}
				var got recompute.Notification
				require.NoError(t, json.Unmarshal([]byte(n.Extra), &got))
				if got.RunID == run && got.Status == "COMPLETED" {
					return
				}
			case <-timeout:
				t.Fatalf("run %d did not complete", run)
			}
		}
	}

	const requests = 100
	seen := map[int]bool{}
	lost := 0
	for range requests {
		run := c.recompute(t, api, segment)
		if seen[run] {
			lost++ // answered with a run that had already committed
			continue
		}
		seen[run] = true
		committed(run)
	}
	t.Logf("lost %d of %d recompute requests sent right after a commit, with 2 worker processes", lost, requests)
	require.Zero(t, lost)
	var completed int
	require.NoError(t, c.db.QueryRow(`SELECT count(*) FROM segment_runs WHERE segment_id = $1 AND status = 'COMPLETED'`, segment).Scan(&completed))
	require.Equal(t, requests+1, completed, "the segment's first run, then one per request")
}
