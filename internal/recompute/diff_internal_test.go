package recompute

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

func TestDiffSorted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                    string
		next, current           []int64
		wantEntered, wantExited []int64
	}{
		{name: "both empty"},
		{name: "all enter", next: []int64{1, 2}, wantEntered: []int64{1, 2}},
		{name: "all exit", current: []int64{1, 2}, wantExited: []int64{1, 2}},
		{name: "unchanged", next: []int64{1, 5, 9}, current: []int64{1, 5, 9}},
		{name: "interleaved", next: []int64{1, 3, 4, 8, 10}, current: []int64{2, 3, 8, 9},
			wantEntered: []int64{1, 4, 10}, wantExited: []int64{2, 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			entered, exited := diffSorted(tc.next, tc.current)
			require.Equal(t, tc.wantEntered, entered)
			require.Equal(t, tc.wantExited, exited)
		})
	}
}

// TestApplyDiffSkipsVanishedUsers: a user deleted between the rule's
// evaluation and the write does not enter (the membership tables have no
// foreign keys to refuse it).
func TestApplyDiffSkipsVanishedUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(ctx, database.NewClient(db), t.Name())
	require.NoError(t, err)
	a := Args{ProjectID: created.Project.ID}
	var user, gone int64
	require.NoError(t, db.QueryRow(`INSERT INTO users (project_id, created_at, updated_at) VALUES ($1, now(), now()) RETURNING id`, a.ProjectID).Scan(&user))
	require.NoError(t, db.QueryRow(`INSERT INTO users (project_id, created_at, updated_at) VALUES ($1, now(), now()) RETURNING id`, a.ProjectID).Scan(&gone))
	require.NoError(t, db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, rule, refresh_interval_seconds, status, size, definition_version, created_at, updated_at)
		VALUES ($1, 's', '', 'DYNAMIC', '{}', 900, 'PENDING', 0, 1, now(), now()) RETURNING id`, a.ProjectID).Scan(&a.SegmentID))
	require.NoError(t, db.QueryRow(`INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, entered_count, exited_count)
		VALUES ($1, $2, 'MANUAL', 'RUNNING', now(), 0, 0) RETURNING id`, a.ProjectID, a.SegmentID).Scan(&a.RunID))
	_, err = db.Exec(`DELETE FROM users WHERE id = $1`, gone)
	require.NoError(t, err)

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	res, err := applyDiff(ctx, tx, a, []int64{gone, user}, time.Now())
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	// The webhooks of the run read the entering users themselves, under
	// its lock: the vanished one is not sent either.
	res.moved = webhook.Run{}
	require.Equal(t, result{Entered: 1, Size: 1}, res)
	var members []int64
	rows, err := db.Query(`SELECT user_id FROM segment_members WHERE segment_id = $1
		UNION ALL SELECT user_id FROM segment_memberships WHERE segment_id = $1 AND entered_run_id = $2`, a.SegmentID, a.RunID)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		members = append(members, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int64{user, user}, members)
}
