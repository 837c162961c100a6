package recompute

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/dirty"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// marksBundle is a real-time segment with two users marked dirty for it.
type marksBundle struct {
	ctx          context.Context
	db           *sql.DB
	project, seg int
	users        []int64
}

func setupMarks(t *testing.T) *marksBundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(ctx, database.NewClient(db), t.Name())
	require.NoError(t, err)
	b := &marksBundle{ctx: ctx, db: db, project: created.Project.ID}
	require.NoError(t, db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, rule, refresh_interval_seconds, status, size, definition_version, created_at, updated_at, realtime, realtime_sources)
		VALUES ($1, 's', '', 'DYNAMIC', '{}', 900, 'PENDING', 0, 1, now(), now(), true, '["event:"]') RETURNING id`, b.project).Scan(&b.seg))
	for range 2 {
		var u int64
		require.NoError(t, db.QueryRow(`INSERT INTO users (project_id, created_at, updated_at) VALUES ($1, now(), now()) RETURNING id`, b.project).Scan(&u))
		b.users = append(b.users, u)
	}
	b.mark(t, db, b.users...)
	return b
}

// mark marks users dirty as a change of any event does, in q's transaction.
func (b *marksBundle) mark(t *testing.T, q dirty.Execer, users ...int64) {
	t.Helper()
	var changes dirty.Changes
	for _, u := range users {
		changes.Add(u, dirty.AnyEvent())
	}
	require.NoError(t, dirty.Mark(b.ctx, q, b.project, &changes))
}

func (b *marksBundle) marked(t *testing.T) []int64 {
	t.Helper()
	var users []int64
	rows, err := b.db.Query(`SELECT user_id FROM segment_dirty_users WHERE segment_id = $1 ORDER BY user_id`, b.seg)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var u int64
		require.NoError(t, rows.Scan(&u))
		users = append(users, u)
	}
	require.NoError(t, rows.Err())
	return users
}

// TestMarkWrittenAfterReadSurvivesDrop: a change that marks a user after
// a pass read the user's mark keeps its mark for the next pass, whether it
// committed before the pass drops its marks or commits after, and neither
// waits for the other; the marks the pass read are dropped.
func TestMarkWrittenAfterReadSurvivesDrop(t *testing.T) {
	t.Parallel()
	for _, commitFirst := range []bool{true, false} {
		name := map[bool]string{true: "committed before the drop", false: "committed after the drop"}[commitFirst]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setupMarks(t)
			pass, err := b.db.BeginTx(b.ctx, nil)
			require.NoError(t, err)
			defer func() { _ = pass.Rollback() }()
			read, err := readMarks(b.ctx, pass, b.seg)
			require.NoError(t, err)
			require.Equal(t, b.users, read.users)

			change, err := b.db.BeginTx(b.ctx, nil)
			require.NoError(t, err)
			defer func() { _ = change.Rollback() }()
			b.mark(t, change, b.users[1])
			if commitFirst {
				require.NoError(t, change.Commit())
			}
			require.NoError(t, dropMarks(b.ctx, pass, b.seg, read, false))
			if !commitFirst {
				require.NoError(t, change.Commit())
			}
			require.NoError(t, pass.Commit())
			require.Equal(t, []int64{b.users[1]}, b.marked(t))
		})
	}
}

// TestMarksOfOneUserAreReadOnce: several changes of a user are several
// marks, one user to re-evaluate, and all of them dropped.
func TestMarksOfOneUserAreReadOnce(t *testing.T) {
	t.Parallel()
	b := setupMarks(t)
	b.mark(t, b.db, b.users[0])
	b.mark(t, b.db, b.users[0])
	pass, err := b.db.BeginTx(b.ctx, nil)
	require.NoError(t, err)
	defer func() { _ = pass.Rollback() }()
	read, err := readMarks(b.ctx, pass, b.seg)
	require.NoError(t, err)
	require.Equal(t, b.users, read.users)
	require.Len(t, read.rows, 4)
	require.NoError(t, dropMarks(b.ctx, pass, b.seg, read, false))
	require.NoError(t, pass.Commit())
	require.Empty(t, b.marked(t))
}

// TestQuietPassSkipsTheFlush: a pass that wrote no run commits without
// waiting for its WAL (its loss in a crash only repeats the pass); one
// that wrote a run waits, as every other transaction.
func TestQuietPassSkipsTheFlush(t *testing.T) {
	t.Parallel()
	for _, quiet := range []bool{true, false} {
		b := setupMarks(t)
		pass, err := b.db.BeginTx(b.ctx, nil)
		require.NoError(t, err)
		read, err := readMarks(b.ctx, pass, b.seg)
		require.NoError(t, err)
		require.NoError(t, dropMarks(b.ctx, pass, b.seg, read, quiet))
		var mode string
		require.NoError(t, pass.QueryRowContext(b.ctx, `SHOW synchronous_commit`).Scan(&mode))
		require.Equal(t, map[bool]string{true: "off", false: "on"}[quiet], mode)
		require.NoError(t, pass.Commit())
		require.Empty(t, b.marked(t))
	}
}
