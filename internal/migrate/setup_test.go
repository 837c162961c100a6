package migrate

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"testing"
	"testing/fstest"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/migrations"
)

// testBundle is what a migration test needs: an empty database of its own.
// Migration tests need unmigrated databases, so they do not use pgtest.
type testBundle struct {
	dsn    string
	db     *sql.DB
	server *sql.DB // the server's maintenance database, for CREATE/DROP DATABASE
}

func serverURL() string {
	if v := os.Getenv("PULSE_TEST_DATABASE_URL"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// setup creates a fresh, empty database for one test and drops it afterwards.
func setup(t *testing.T) *testBundle {
	t.Helper()
	server, err := sql.Open("postgres", serverURL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = server.Close() })
	name := uniqueName("pulse_migrate")
	_, err = server.Exec("CREATE DATABASE " + pq.QuoteIdentifier(name))
	require.NoError(t, err, "create a test database (is PostgreSQL running at %s?)", serverURL())
	dsn := withDatabase(t, name)
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = db.Close()
		_, _ = server.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)")
	})
	return &testBundle{dsn: dsn, db: db, server: server}
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "_" + strconv.Itoa(os.Getpid()) + "_" + hex.EncodeToString(b)
}

func withDatabase(t *testing.T, name string) string {
	t.Helper()
	u, err := url.Parse(serverURL())
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

func migrationsFS() fs.FS { return migrations.FS }

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var ok bool
	require.NoError(t, db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok))
	return ok
}

func appliedCount(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM `+revisionsTable).Scan(&n))
	return n
}

// fixture is a migration directory with a valid atlas.sum, as the generator
// writes it.
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

func up(t *testing.T, db *sql.DB, files fstest.MapFS) error {
	t.Helper()
	return newMigrator(db, files, nil).up(context.Background())
}
