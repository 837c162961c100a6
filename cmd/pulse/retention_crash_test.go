package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKillMidRetentionLosesNothing kills a worker right after its
// retention job committed a batch: that batch is gone for good, nothing
// else is half done, and a process started afterwards finishes the job,
// leaving exactly the rows the retention keeps.
func TestKillMidRetentionLosesNothing(t *testing.T) {
	t.Parallel()
	c := newCluster(t, buildFaultPulse(t))
	// 12,000 expired events (three batches), expired daily activity and
	// feedback, and what the retention keeps of each.
	_, err := c.db.Exec(`
		WITH u AS (INSERT INTO users (project_id, external_id, created_at, updated_at) VALUES ($1, 'ann', now(), now()) RETURNING id),
		e AS (INSERT INTO events (project_id, user_id, name, "timestamp", received_at, message_id)
			SELECT $1, u.id, 'export', now() - interval '40 days' - n * interval '1 second', now(), 'old-' || n FROM u, generate_series(1, 12000) n
			UNION ALL SELECT $1, u.id, 'export', now() - interval '1 hour', now(), 'kept' FROM u),
		d AS (INSERT INTO user_daily_activities (project_id, user_id, day, events)
			SELECT $1, u.id, (now() AT TIME ZONE 'UTC')::date - n, 1 FROM u, generate_series(0, 59) n)
		INSERT INTO feedbacks (project_id, user_id, "timestamp", created_at, updated_at)
		SELECT $1, u.id, now() - n * interval '1 day', now(), now() FROM u, generate_series(1, 60) n`, c.projectID)
	require.NoError(t, err)
	count := func(query string) int {
		var n int
		require.NoError(t, c.db.QueryRow(query, c.projectID).Scan(&n))
		return n
	}
	events := func() int { return count(`SELECT count(*) FROM events WHERE project_id = $1`) }

	worker := c.start(t, []string{"PULSE_FAULT_PAUSE=retention-batch"})
	var out struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, worker.base, c.admin, `mutation { updateProject(input: {retentionDays: 30}) { retentionDays } }`, nil), &out))
	require.Empty(t, out.Errors)
	line := worker.fault(t)
	require.Contains(t, line, fmt.Sprintf("project=%d table=events rows=5000", c.projectID))
	worker.kill(t)
	require.Equal(t, 12001-5000, events(), "the first batch committed, and only it")
	require.Equal(t, 60, count(`SELECT count(*) FROM feedbacks WHERE project_id = $1`))

	c.start(t, nil)
	deadline := time.Now().Add(60 * time.Second)
	for count(`SELECT count(*) FROM river_job WHERE kind = 'apply_retention' AND state = 'completed' AND (args->>'project_id')::bigint = $1`) == 0 {
		require.True(t, time.Now().Before(deadline), "the retention job did not complete after the kill")
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, 1, events(), "only the kept event")
	require.Equal(t, 30, count(`SELECT count(*) FROM user_daily_activities WHERE project_id = $1`), "today and the 29 days before it")
	require.Equal(t, 29, count(`SELECT count(*) FROM feedbacks WHERE project_id = $1`), "the last 29 days: the 30th day's was a little more than 30 × 24 hours old when the job ran")
}
