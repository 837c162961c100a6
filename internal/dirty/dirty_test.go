package dirty_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/dirty"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type bundle struct {
	db      *sql.DB
	project int
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	return &bundle{db: db, project: newProject(t, db, t.Name())}
}

func newProject(t *testing.T, db *sql.DB, name string) int {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), name)
	require.NoError(t, err)
	return created.Project.ID
}

func (b *bundle) segment(t *testing.T, project int, sources ...string) int {
	t.Helper()
	raw, err := json.Marshal(sources)
	require.NoError(t, err)
	if sources == nil {
		raw = nil
	}
	var id int
	require.NoError(t, b.db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, rule, refresh_interval_seconds, status, size,
		definition_version, created_at, updated_at, realtime, realtime_sources)
		VALUES ($1, 's', '', 'DYNAMIC', '{}', 900, 'READY', 0, 1, now(), now(), true, $2) RETURNING id`, project, raw).Scan(&id))
	return id
}

func (b *bundle) user(t *testing.T, project int) int64 {
	t.Helper()
	var id int64
	require.NoError(t, b.db.QueryRow(`INSERT INTO users (project_id, created_at, updated_at, event_count) VALUES ($1, now(), now(), 0) RETURNING id`, project).Scan(&id))
	return id
}

func (b *bundle) marked(t *testing.T, segment int) []int64 {
	t.Helper()
	rows, err := b.db.Query(`SELECT DISTINCT user_id FROM segment_dirty_users WHERE segment_id = $1 ORDER BY user_id`, segment)
	require.NoError(t, err)
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

func (b *bundle) mark(t *testing.T, project int, changes *dirty.Changes) {
	t.Helper()
	tx, err := b.db.Begin()
	require.NoError(t, err)
	require.NoError(t, dirty.Mark(context.Background(), tx, project, changes))
	require.NoError(t, tx.Commit())
}

// TestMarkMatchesSources: a change marks the user for the segments whose
// sources name it (an event also as any event), never for others, never in
// another project, nor where real time is off; All marks every real-time
// segment; marking twice adds a mark, and the segment's oldest keeps the
// first change's time.
func TestMarkMatchesSources(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exports := b.segment(t, b.project, dirty.Event("export"))
	anyEvent := b.segment(t, b.project, dirty.AnyEvent())
	plan := b.segment(t, b.project, dirty.Trait("plan"), dirty.Segment(exports))
	off := b.segment(t, b.project) // realtime_sources NULL: real time off
	other := newProject(t, b.db, "other")
	foreign := b.segment(t, other, dirty.Event("export"))
	ann, bob := b.user(t, b.project), b.user(t, b.project)

	var changes dirty.Changes
	changes.Add(ann, dirty.Event("export"))
	changes.Add(ann, dirty.AnyEvent())
	changes.Add(bob, dirty.Trait("country"))
	b.mark(t, b.project, &changes)
	require.Equal(t, []int64{ann}, b.marked(t, exports))
	require.Equal(t, []int64{ann}, b.marked(t, anyEvent))
	require.Empty(t, b.marked(t, plan))
	require.Empty(t, b.marked(t, off))
	require.Empty(t, b.marked(t, foreign), "another project's segment with the same sources")

	var first string
	require.NoError(t, b.db.QueryRow(`SELECT marked_at::text FROM segment_dirty_users WHERE segment_id = $1`, exports).Scan(&first))
	b.mark(t, b.project, &changes)
	var (
		again string
		marks int
	)
	require.NoError(t, b.db.QueryRow(`SELECT min(marked_at)::text, count(*) FROM segment_dirty_users WHERE segment_id = $1`, exports).Scan(&again, &marks))
	require.Equal(t, first, again, "the oldest mark keeps the time of the first change")
	require.Equal(t, 2, marks, "each change is a mark of its own")

	var all dirty.Changes
	all.Add(bob, dirty.All)
	b.mark(t, b.project, &all)
	require.Equal(t, []int64{ann, bob}, b.marked(t, exports))
	require.Equal(t, []int64{bob}, b.marked(t, plan))
	require.Empty(t, b.marked(t, off))

	_, err := b.db.Exec(`UPDATE projects SET realtime = false WHERE id = $1`, b.project)
	require.NoError(t, err)
	var later dirty.Changes
	later.Add(bob, dirty.Segment(exports))
	b.mark(t, b.project, &later)
	_, err = b.db.Exec(`DELETE FROM segment_dirty_users WHERE segment_id = $1`, plan)
	require.NoError(t, err)
	b.mark(t, b.project, &later)
	require.Empty(t, b.marked(t, plan), "the project's real time is off")
}
