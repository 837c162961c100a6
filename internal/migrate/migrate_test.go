package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/migrations"
)

// emptyDatabase creates a fresh, empty database for one test and drops it
// afterwards. Migration tests need an unmigrated database, so they do not use
// pgtest's template.
func emptyDatabase(t *testing.T) (string, *sql.DB) {
	t.Helper()
	server := os.Getenv("PULSE_TEST_DATABASE_URL")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(server)
	require.NoError(t, err)
	name := fmt.Sprintf("pulse_migrate_%d_%s", os.Getpid(), strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())))
	u.Path = "/" + name
	dsn := u.String()
	require.NoError(t, EnsureDatabase(context.Background(), dsn))
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = db.Close()
		admin, err := sql.Open("postgres", server)
		if err == nil {
			_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			_ = admin.Close()
		}
	})
	return dsn, db
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var ok bool
	require.NoError(t, db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok))
	return ok
}

func TestUpOnEmptyDatabaseAndRerun(t *testing.T) {
	t.Parallel()
	_, db := emptyDatabase(t)
	ctx := context.Background()

	pending, err := Pending(ctx, db)
	require.NoError(t, err)
	require.Positive(t, pending)

	require.NoError(t, Up(ctx, db, nil))
	for _, table := range []string{"projects", "api_keys", "users", "events", "segment_memberships", "segment_runs", "river_job"} {
		require.True(t, tableExists(t, db, table), table)
	}
	pending, err = Pending(ctx, db)
	require.NoError(t, err)
	require.Zero(t, pending)

	var applied int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM `+revisionsTable).Scan(&applied))
	require.NoError(t, Up(ctx, db, nil), "a re-run is a no-op")
	var again int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM `+revisionsTable).Scan(&again))
	require.Equal(t, applied, again)
}

// TestConcurrentUp starts several migrators on one empty database at once:
// the advisory lock makes exactly one apply each file.
func TestConcurrentUp(t *testing.T) {
	t.Parallel()
	dsn, _ := emptyDatabase(t)
	ctx := context.Background()
	const processes = 4
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sql.Open("postgres", dsn) // a pool per "process"
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			errs[i] = Up(ctx, db, nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	files, err := fs.Glob(migrations.FS, "*.sql")
	require.NoError(t, err)
	var applied int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM `+revisionsTable).Scan(&applied))
	require.Equal(t, len(files), applied)
}

// fixture is a migration directory with a valid atlas.sum.
func fixture(t *testing.T, files map[string]string) fstest.MapFS {
	t.Helper()
	dir := &atlasmigrate.MemDir{}
	out := fstest.MapFS{}
	for name, body := range files {
		require.NoError(t, dir.WriteFile(name, []byte(body)))
		out[name] = &fstest.MapFile{Data: []byte(body)}
	}
	sum, err := dir.Checksum()
	require.NoError(t, err)
	text, err := sum.MarshalText()
	require.NoError(t, err)
	out[atlasmigrate.HashFileName] = &fstest.MapFile{Data: text}
	return out
}

func TestEditedMigrationIsRefused(t *testing.T) {
	t.Parallel()
	_, db := emptyDatabase(t)
	ctx := context.Background()
	original := fixture(t, map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id int);",
		"20260102000000_b.sql": "CREATE TABLE b (id int);",
	})
	require.NoError(t, newMigrator(db, original, nil).up(ctx))
	require.True(t, tableExists(t, db, "b"))

	edited := fixture(t, map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id bigint);",
		"20260102000000_b.sql": "CREATE TABLE b (id int);",
		"20260103000000_c.sql": "CREATE TABLE c (id int);",
	})
	err := newMigrator(db, edited, nil).up(ctx)
	var editedErr *EditedError
	require.True(t, errors.As(err, &editedErr), "got %v", err)
	require.Equal(t, "20260101000000_a.sql", editedErr.Version)
	require.ErrorContains(t, err, "was edited after it was applied")
	require.False(t, tableExists(t, db, "c"), "nothing after the refusal is applied")

	added := fixture(t, map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id int);",
		"20260102000000_b.sql": "CREATE TABLE b (id int);",
		"20260103000000_c.sql": "CREATE TABLE c (id int);",
	})
	require.NoError(t, newMigrator(db, added, nil).up(ctx), "adding a migration is fine")
	require.True(t, tableExists(t, db, "c"))
}

func TestTamperedSumIsRefused(t *testing.T) {
	t.Parallel()
	_, db := emptyDatabase(t)
	files := fixture(t, map[string]string{"20260101000000_a.sql": "CREATE TABLE a (id int);"})
	files["20260101000000_a.sql"] = &fstest.MapFile{Data: []byte("DROP TABLE users;")}
	err := newMigrator(db, files, nil).up(context.Background())
	require.ErrorIs(t, err, atlasmigrate.ErrChecksumMismatch)
	require.ErrorContains(t, err, "regenerate")
	require.False(t, tableExists(t, db, revisionsTable), "nothing ran")
}

func TestFailingMigrationRollsBack(t *testing.T) {
	t.Parallel()
	_, db := emptyDatabase(t)
	files := fixture(t, map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id int);",
		"20260102000000_b.sql": "CREATE TABLE b (id int); SELECT no_such_function();",
	})
	err := newMigrator(db, files, nil).up(context.Background())
	require.ErrorContains(t, err, "apply migration 20260102000000_b.sql")
	require.True(t, tableExists(t, db, "a"))
	require.False(t, tableExists(t, db, "b"), "the failed file left nothing behind")
}

// TestEnsureDatabaseRace creates a missing database from several goroutines
// at once, as processes starting together do: all succeed.
func TestEnsureDatabaseRace(t *testing.T) {
	t.Parallel()
	dsn, db := emptyDatabase(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Path += "_new"
	name := strings.TrimPrefix(u.Path, "/")
	t.Cleanup(func() { _, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })

	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = EnsureDatabase(context.Background(), u.String())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var exists bool
	require.NoError(t, db.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	require.True(t, exists)
}
