package jobs

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRescueTakesOnlyTheJobsOfDeadProcesses: a running job whose last taker
// holds its liveness lock is left alone, however old; one whose taker's
// lock is free is made available again with an error saying why, or
// discarded on its last attempt.
func TestRescueTakesOnlyTheJobsOfDeadProcesses(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	alive := newLiveness(db, "alive_"+t.Name(), 0, nil)
	require.NoError(t, alive.lock(ctx))
	t.Cleanup(func() { _ = alive.conn.Close() })

	job := func(takers string, attempt, maxAttempts int) int64 {
		t.Helper()
		var id int64
		require.NoError(t, db.QueryRow(`INSERT INTO river_job (kind, args, state, attempt, max_attempts, attempted_at, attempted_by, queue, priority)
			VALUES ('rescue_test', '{}', 'running', $2, $3, now() - interval '1 day', string_to_array($1, ','), 'rescue_test', 1) RETURNING id`,
			takers, attempt, maxAttempts).Scan(&id))
		return id
	}
	ofLive := job("dead_"+t.Name()+","+alive.id, 2, 5) // retried by the live one after a death
	ofDead := job(alive.id+",dead_"+t.Name(), 2, 5)
	lastAttempt := job("dead_"+t.Name(), 5, 5)

	n, err := rescue(ctx, db, "rescuer_"+t.Name())
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, int64(2))
	state := func(id int64) (s string, errors int) {
		require.NoError(t, db.QueryRow(`SELECT state, COALESCE(cardinality(errors), 0) FROM river_job WHERE id = $1`, id).Scan(&s, &errors))
		return s, errors
	}
	s, errs := state(ofLive)
	require.Equal(t, "running", s, "a live process keeps its job")
	require.Zero(t, errs)
	s, errs = state(ofDead)
	require.Equal(t, "available", s)
	require.Equal(t, 1, errs)
	var why string
	require.NoError(t, db.QueryRow(`SELECT errors[1]->>'error' FROM river_job WHERE id = $1`, ofDead).Scan(&why))
	require.Contains(t, why, "dead_"+t.Name()+") died")
	s, _ = state(lastAttempt)
	require.Equal(t, "discarded", s)

	// Once the live process is gone too, its job is rescued.
	require.NoError(t, alive.conn.Close())
	_, err = rescue(ctx, db, "rescuer_"+t.Name())
	require.NoError(t, err)
	s, _ = state(ofLive)
	require.Equal(t, "available", s)
}
