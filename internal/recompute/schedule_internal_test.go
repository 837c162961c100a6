package recompute

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestSchedulerQueuesDueSegments: a scheduler pass queues a SCHEDULE run of
// each active dynamic segment past its refresh interval, and of no other:
// not one computed recently, archived, static, or with a run already
// waiting.
func TestSchedulerQueuesDueSegments(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	ctx := context.Background()
	created, err := auth.CreateProject(ctx, database.NewClient(db), t.Name())
	require.NoError(t, err)
	project := created.Project.ID
	segment := func(name, kind, lastComputed string, archived bool) int {
		t.Helper()
		var id int
		require.NoError(t, db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, rule, refresh_interval_seconds, status, size,
			definition_version, created_at, updated_at, last_computed_at, archived_at)
			VALUES ($1, $2, '', $3::text, CASE WHEN $3::text = 'DYNAMIC' THEN '{"event":{"name":"export"}}'::jsonb END, 900, 'READY', 0, 1, now(), now(),
				now() - $4::interval, CASE WHEN $5::boolean THEN now() END) RETURNING id`,
			project, name, kind, lastComputed, archived).Scan(&id))
		return id
	}
	never := segment("never computed", "DYNAMIC", "100 years", false)
	_, err = db.Exec(`UPDATE segments SET last_computed_at = NULL WHERE id = $1`, never)
	require.NoError(t, err)
	stale := segment("stale", "DYNAMIC", "16 minutes", false)
	fresh := segment("fresh", "DYNAMIC", "14 minutes", false)
	archived := segment("archived", "DYNAMIC", "1 day", true)
	static := segment("static", "STATIC", "1 day", false)
	waiting := segment("waiting", "DYNAMIC", "1 day", false)
	// Its run waits for a job scheduled an hour from now: live, so the
	// reconciliation leaves it alone, and nobody works it meanwhile.
	_, err = db.Exec(`WITH job AS (
			INSERT INTO river_job (kind, args, state, scheduled_at, max_attempts, queue, priority)
			VALUES ('recompute_segment', '{}', 'scheduled', now() + interval '1 hour', 5, 'default', 1) RETURNING id)
		INSERT INTO segment_runs (project_id, segment_id, trigger, status, job_id, created_at, entered_count, exited_count)
		SELECT $1, $2, 'MANUAL', 'PENDING', id, now(), 0, 0 FROM job`, project, waiting)
	require.NoError(t, err)

	due, err := dueSegments(ctx, db)
	require.NoError(t, err)
	var dueHere []int
	for _, d := range due {
		if d.project == project {
			dueHere = append(dueHere, d.segment)
		}
	}
	require.Equal(t, []int{never, stale}, dueHere)

	// A client of its own, on a queue of its own, runs one scheduler pass
	// (it knows every kind, to insert them).
	workers := river.NewWorkers()
	AddWorkers(workers, db, Options{})
	queue := fmt.Sprintf("schedule_test_%d", project)
	// The working clients of the package's other tests rescue the jobs of
	// clients whose liveness lock is free (internal/jobs): this one holds
	// its own, as a working Pulse process does.
	clientID := fmt.Sprintf("schedule-test-%d", project)
	alive, err := db.Conn(ctx)
	require.NoError(t, err)
	defer alive.Close()
	var locked bool
	require.NoError(t, alive.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtextextended('pulse-river-client:' || $1, 0))`, clientID).Scan(&locked))
	require.True(t, locked)
	client, err := river.NewClient(riverdatabasesql.New(db), &river.Config{ID: clientID, Workers: workers,
		Queues: map[string]river.QueueConfig{queue: {MaxWorkers: 1}}, FetchPollInterval: 20 * time.Millisecond, FetchCooldown: 20 * time.Millisecond})
	require.NoError(t, err)
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	require.NoError(t, client.Start(ctx))
	defer func() { require.NoError(t, client.Stop(ctx)) }()
	_, err = client.Insert(ctx, scheduleArgs{}, &river.InsertOpts{Queue: queue})
	require.NoError(t, err)
	select {
	case ev := <-events:
		require.Equal(t, river.EventKindJobCompleted, ev.Kind, "the pass failed: %v", ev.Job.Errors)
	case <-time.After(30 * time.Second):
		t.Fatal("the scheduler pass did not run")
	}
	scheduled := map[int]int{}
	rows, err := db.Query(`SELECT segment_id, count(*) FROM segment_runs WHERE project_id = $1 AND trigger = 'SCHEDULE' GROUP BY 1`, project)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var seg, n int
		require.NoError(t, rows.Scan(&seg, &n))
		scheduled[seg] = n
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[int]int{never: 1, stale: 1}, scheduled)
	_, _, _ = fresh, archived, static
}
