package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKillAtAnyInstant kills worker processes with SIGKILL at random
// instants for a while, each replaced at once, while recomputes of changing
// data are requested through an API-only process. Once the killing stops,
// every run completes within 60 s, each exactly once, with counts, seqs and
// sizes consistent.
func TestKillAtAnyInstant(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills processes for half a minute")
	}
	c := newCluster(t, buildPulse(t))
	api := c.start(t, nil, "--no-workers")
	workers := []*pulseProcess{c.start(t, nil), c.start(t, nil)}
	c.users(t, 3000)
	segments := []int{c.dynamicSegment(t, api, "a"), c.dynamicSegment(t, api, "b"), c.dynamicSegment(t, api, "c")}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills := 0
	until := time.Now().Add(30 * time.Second)
	for time.Now().Before(until) {
		c.shuffle(t)
		for _, s := range segments {
			c.recompute(t, api, s)
		}
		// A random instant of whatever the workers are doing.
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		i := rng.IntN(len(workers))
		workers[i].kill(t)
		kills++
		workers[i] = c.start(t, nil)
	}
	lastKill := time.Now()
	deadline := lastKill.Add(60 * time.Second)
	for {
		var unfinished int
		require.NoError(t, c.db.QueryRow(`SELECT count(*) FROM segment_runs WHERE status IN ('PENDING', 'RUNNING')`).Scan(&unfinished))
		if unfinished == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d runs unfinished 60 s after the last kill", unfinished)
		time.Sleep(50 * time.Millisecond)
	}
	var runs, rescued int
	require.NoError(t, c.db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE cardinality(j.errors) > 0)
		FROM segment_runs r LEFT JOIN river_job j ON j.id = r.job_id`).Scan(&runs, &rescued))
	t.Logf("%d kills, %d runs, %d of them retried after a kill; all settled %s after the last kill",
		kills, runs, rescued, time.Since(lastKill).Round(time.Millisecond))
	c.checkRuns(t)
}
