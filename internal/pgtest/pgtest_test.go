package pgtest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestDB(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	require.Same(t, db, pgtest.DB(t), "one database per package")
	require.Contains(t, pgtest.DSN(t), "/pulse_t_")

	var name string
	require.NoError(t, db.QueryRow(`SELECT current_database()`).Scan(&name))
	require.True(t, strings.HasPrefix(name, "pulse_t_"))
	for _, table := range []string{"projects", "events", "segment_runs", "river_job", "pulse_schema_revisions"} {
		var exists bool
		require.NoError(t, db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists))
		require.True(t, exists, "template is migrated: %s", table)
	}
}
