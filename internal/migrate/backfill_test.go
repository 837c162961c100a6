package migrate

import (
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/migrations"
)

// TestSegmentVersionsBackfill migrates a database that has segments from
// before segment versions existed: afterwards each segment has its current
// definition as a version, dated by its creation at version 1 and by its
// last update after, with no key; running it again changes nothing.
func TestSegmentVersionsBackfill(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const backfill = "20261206212537_segment_versions_backfill.sql"
	before, all := map[string]string{}, map[string]string{}
	for _, name := range pulseFileNames(t) {
		data, err := fs.ReadFile(migrations.FS, name)
		require.NoError(t, err)
		all[name] = string(data)
		if name < backfill {
			before[name] = string(data)
		}
	}
	require.Contains(t, all, backfill)
	require.NoError(t, up(t, b.db, fixture(t, before)))

	created := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	updated := time.Date(2026, 3, 3, 12, 30, 0, 0, time.UTC)
	var project, fresh, changed, static int
	require.NoError(t, b.db.QueryRow(`INSERT INTO projects (name, created_at, updated_at) VALUES ('p', now(), now()) RETURNING id`).Scan(&project))
	insert := `INSERT INTO segments (project_id, name, kind, rule, definition_version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`
	require.NoError(t, b.db.QueryRow(insert, project, "fresh", "DYNAMIC", `{"lastSeen":{"withinDays":7}}`, 1, created, updated).Scan(&fresh))
	require.NoError(t, b.db.QueryRow(insert, project, "changed", "DYNAMIC", `{"lastSeen":{"withinDays":30}}`, 3, created, updated).Scan(&changed))
	require.NoError(t, b.db.QueryRow(insert, project, "static", "STATIC", nil, 1, created, updated).Scan(&static))

	require.NoError(t, up(t, b.db, fixture(t, all)))
	require.NoError(t, up(t, b.db, fixture(t, all)), "a re-run is a no-op")

	type version struct {
		segment, version, project int
		rule                      *string
		at                        time.Time
		keyed                     bool
	}
	rows, err := b.db.Query(`SELECT segment_id, version, project_id, rule::text, created_at, key_id IS NOT NULL
		FROM segment_versions ORDER BY segment_id`)
	require.NoError(t, err)
	defer rows.Close()
	var got []version
	for rows.Next() {
		var v version
		require.NoError(t, rows.Scan(&v.segment, &v.version, &v.project, &v.rule, &v.at, &v.keyed))
		v.at = v.at.UTC()
		got = append(got, v)
	}
	require.NoError(t, rows.Err())
	str := func(s string) *string { return &s }
	require.Equal(t, []version{
		{fresh, 1, project, str(`{"lastSeen": {"withinDays": 7}}`), created, false},
		{changed, 3, project, str(`{"lastSeen": {"withinDays": 30}}`), updated, false},
		{static, 1, project, nil, created, false},
	}, got)
}
