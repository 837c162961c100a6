package pgtest_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/migrate"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestDBIsMigratedAndShared(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	require.Same(t, db, pgtest.DB(t), "one database per package")

	var name string
	require.NoError(t, db.QueryRow(`SELECT current_database()`).Scan(&name))
	require.True(t, strings.HasPrefix(name, "pulse_t_"), name)
	dsn, err := url.Parse(pgtest.DSN(t))
	require.NoError(t, err)
	require.Equal(t, "/"+name, dsn.Path, "DSN names the package database")

	for _, table := range []string{"projects", "users", "events", "segment_runs", "river_job", "pulse_schema_revisions"} {
		var exists bool
		require.NoError(t, db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists))
		require.True(t, exists, "the template is migrated: %s", table)
	}
	pending, err := migrate.Pending(context.Background(), db)
	require.NoError(t, err)
	require.Zero(t, pending)
}

// TestDSNOpensTheSameDatabase writes through DB and reads through a pool of
// its own on DSN, as River or a spawned server would.
func TestDSNOpensTheSameDatabase(t *testing.T) {
	t.Parallel()
	_, err := pgtest.DB(t).Exec(`INSERT INTO projects (name, created_at, updated_at) VALUES ('pgtest dsn', now(), now())`)
	require.NoError(t, err)

	other, err := sql.Open("postgres", pgtest.DSN(t))
	require.NoError(t, err)
	defer other.Close()
	var n int
	require.NoError(t, other.QueryRow(`SELECT count(*) FROM projects WHERE name = 'pgtest dsn'`).Scan(&n))
	require.Equal(t, 1, n)
}

// TestTemplateIsSealed checks the template the package database came from:
// complete under its final name and closed to connections, so that no
// session can make cloning fail.
func TestTemplateIsSealed(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	fingerprint, err := migrate.Fingerprint()
	require.NoError(t, err)
	var allowConn bool
	require.NoError(t, db.QueryRow(`SELECT datallowconn FROM pg_database WHERE datname = $1`,
		"pulse_tmpl_"+fingerprint).Scan(&allowConn))
	require.False(t, allowConn)
}
