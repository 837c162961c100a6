package live_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/live"
)

// A run that commits while the LISTEN connection is down is never
// announced to this process. Here its notification is lost for certain (the
// run is written without one), then the connection is killed: the
// reconnected hub finds the run in the database and delivers it.
func TestReconnectReplaysRunsWhoseNotificationWasLost(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg := b.staticSegment(t, b.projectID, 3)
	stream, _ := b.segmentStream(t, seg, nil)
	b.change(t, b.projectID, seg, false, "u0")
	require.Equal(t, 1, next(t, stream).Seq)

	_, err := b.db.Exec(`
		WITH run AS (
			INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, started_at, finished_at,
				entered_count, exited_count, size_after, seq)
			VALUES ($1, $2, 'MANUAL', 'COMPLETED', now(), now(), now(), 1, 0, 2, 2) RETURNING id
		), member AS (
			INSERT INTO segment_members (segment_id, user_id, entered_at)
			SELECT $2, id, now() FROM users WHERE project_id = $1 AND external_id = 'u1'
		)
		INSERT INTO segment_memberships (project_id, segment_id, user_id, entered_at, entered_run_id)
		SELECT $1, $2, u.id, now(), run.id FROM users u, run WHERE u.project_id = $1 AND u.external_id = 'u1'`,
		b.projectID, seg)
	require.NoError(t, err)

	var killed int
	require.NoError(t, b.db.QueryRow(`
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, live.ListenerApplicationName).Scan(&killed))
	require.Positive(t, killed)

	c := next(t, stream)
	require.Equal(t, 2, c.Seq)
	require.Equal(t, []string{"u1"}, externalIDs(c.Entered))
	require.Positive(t, b.reconnects.Load())

	// And live delivery resumes on the new connection.
	b.change(t, b.projectID, seg, false, "u2")
	require.Equal(t, 3, next(t, stream).Seq)
}
