package migrate

import (
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/migrations"
)

func riverVersions(t *testing.T) int {
	t.Helper()
	migrator, err := riverMigrator(nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return len(migrator.AllVersions())
}

func pulseFileNames(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(migrations.FS, "*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func pulseFiles(t *testing.T) int { return len(pulseFileNames(t)) }

func TestUpMigratesEmptyDatabaseOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	pending, err := Pending(ctx, b.db)
	require.NoError(t, err)
	require.Equal(t, pulseFiles(t)+riverVersions(t), pending, "every Pulse and River migration is pending")

	var log bytes.Buffer
	require.NoError(t, Up(ctx, b.db, slog.New(slog.NewTextHandler(&log, nil))))
	for _, name := range pulseFileNames(t) {
		require.Contains(t, log.String(), "msg=\"applied migration\" version="+name[:14]+" name="+name)
	}
	require.Contains(t, log.String(), "msg=\"applied river migration\" version=1 ")
	require.NotContains(t, log.String(), "rivermigrate", "River's own Info lines are not repeated")
	for _, table := range []string{"projects", "api_keys", "users", "events", "segment_memberships", "segment_runs", "river_job"} {
		require.True(t, tableExists(t, b.db, table), table)
	}
	pending, err = Pending(ctx, b.db)
	require.NoError(t, err)
	require.Zero(t, pending)
	require.Equal(t, pulseFiles(t), appliedCount(t, b.db))

	var appliedAt string
	require.NoError(t, b.db.QueryRow(`SELECT max(applied_at)::text FROM `+revisionsTable).Scan(&appliedAt))
	log.Reset()
	require.NoError(t, Up(ctx, b.db, slog.New(slog.NewTextHandler(&log, nil))), "a re-run is a no-op")
	require.Empty(t, log.String())
	var again string
	require.NoError(t, b.db.QueryRow(`SELECT max(applied_at)::text FROM `+revisionsTable).Scan(&again))
	require.Equal(t, appliedAt, again, "nothing was re-applied")
	require.Equal(t, pulseFiles(t), appliedCount(t, b.db))
}

// TestUpConcurrent starts several processes' worth of Up on one empty
// database at once: the advisory lock makes one apply each file and the
// others find nothing to do (a second apply would hit the revisions table's
// primary key, or fail on CREATE TABLE).
func TestUpConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const processes = 4
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range processes {
		wg.Go(func() {
			db, err := sql.Open("postgres", b.dsn) // a pool per process
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			errs[i] = Up(context.Background(), db, nil)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, pulseFiles(t), appliedCount(t, b.db))
	var riverApplied int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM river_migration`).Scan(&riverApplied))
	require.Equal(t, riverVersions(t), riverApplied)
}

func TestPendingCountsUnappliedFiles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	two := fixture(t, map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id int);",
		"20260102000000_b.sql": "CREATE TABLE b (id int);",
	})
	pending, err := newMigrator(b.db, two, nil).pending(ctx)
	require.NoError(t, err)
	require.Equal(t, 2+riverVersions(t), pending)

	require.NoError(t, up(t, b.db, two))
	pending, err = newMigrator(b.db, two, nil).pending(ctx)
	require.NoError(t, err)
	require.Zero(t, pending)

	three := fixture(t, map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id int);",
		"20260102000000_b.sql": "CREATE TABLE b (id int);",
		"20260103000000_c.sql": "CREATE TABLE c (id int);",
	})
	pending, err = newMigrator(b.db, three, nil).pending(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, pending, "a new binary sees its new migration pending")
}

func TestUpRollsBackFailingMigration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	files := fixture(t, map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id int);",
		"20260102000000_b.sql": "CREATE TABLE b (id int); SELECT no_such_function();",
	})
	err := up(t, b.db, files)
	require.ErrorContains(t, err, "apply migration 20260102000000_b.sql")
	require.True(t, tableExists(t, b.db, "a"), "the migration before the failure stays applied")
	require.False(t, tableExists(t, b.db, "b"), "the failed file left nothing behind")
	require.Equal(t, 1, appliedCount(t, b.db))
}

// TestUpTxModeNone runs a file marked with Atlas's txmode none directive,
// which CREATE INDEX CONCURRENTLY needs: PostgreSQL refuses it inside a
// transaction, including the implicit one of a multi-statement query.
func TestUpTxModeNone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	files := fixture(t, map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id int, v int);",
		"20260102000000_index.sql": "-- atlas:txmode none\n\n" +
			"CREATE INDEX CONCURRENTLY a_v ON a (v);\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n",
	})
	require.NoError(t, up(t, b.db, files))
	require.True(t, tableExists(t, b.db, "a_v"))
	require.True(t, tableExists(t, b.db, "a_id"))
	require.Equal(t, 2, appliedCount(t, b.db))
	require.NoError(t, up(t, b.db, files), "a re-run is a no-op")
}
