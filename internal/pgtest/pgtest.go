// Package pgtest gives each test package its own PostgreSQL database, cloned
// from a migrated template so that it is ready in a fraction of a second. Use
// it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and call DB(t) (or DSN(t)) in tests. Tests of a package share its database
// and keep apart by creating their own projects, so they can run in
// parallel.
//
// The server is PULSE_TEST_DATABASE_URL (default: local PostgreSQL as user
// postgres). The template is built once per schema, by whichever test process
// needs it first, and reused by every later one: its name carries
// migrate.Fingerprint, so a new migration makes a new template.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	// The database/sql driver.
	_ "github.com/lib/pq"
)

// defaultURL is the server tests use unless PULSE_TEST_DATABASE_URL says
// otherwise. Its database is only used to create and drop others.
const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// packageDB is the database of one test binary, created on first use.
type packageDB struct {
	once sync.Once
	name string
	dsn  string
	db   *sql.DB
	err  error
}

// current is the test binary's database. It is process state by nature: one
// test binary is one package, and Main drops the database when it ends.
var current packageDB

// Main runs the package's tests, drops its database when one was created,
// and exits with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	if current.db != nil {
		_ = current.db.Close()
		if err := dropDatabase(context.Background(), current.name); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// DB returns the package's database, migrated, creating it on first use. It
// fails the test when PostgreSQL is unreachable. Do not close it.
func DB(t testing.TB) *sql.DB {
	t.Helper()
	current.once.Do(func() {
		current.name, current.dsn, current.db, current.err = create(context.Background())
	})
	if current.err != nil {
		t.Fatalf("pgtest: %v", current.err)
	}
	return current.db
}

// DSN returns the connection URL of the package's database, for code that
// opens its own connections (River, a spawned server).
func DSN(t testing.TB) string {
	t.Helper()
	DB(t)
	return current.dsn
}

func create(ctx context.Context) (name, dsn string, db *sql.DB, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	admin, err := openServer(ctx)
	if err != nil {
		return "", "", nil, err
	}
	defer admin.Close()
	template, err := ensureTemplate(ctx, admin)
	if err != nil {
		return "", "", nil, err
	}
	reapAbandoned(ctx, admin)
	name = packageDatabaseName()
	if err := cloneTemplate(ctx, admin, template, name); err != nil {
		return "", "", nil, err
	}
	dsn = withDatabase(serverURL(), name)
	db, err = sql.Open("postgres", dsn)
	if err != nil {
		return "", "", nil, fmt.Errorf("open %s: %w", name, err)
	}
	db.SetMaxOpenConns(16)
	if err := currentPartitions(ctx, db); err != nil {
		_ = db.Close()
		return "", "", nil, err
	}
	return name, dsn, db, nil
}

func serverURL() string {
	if v := os.Getenv("PULSE_TEST_DATABASE_URL"); v != "" {
		return v
	}
	return defaultURL
}

// openServer connects to the server's maintenance database.
func openServer(ctx context.Context) (*sql.DB, error) {
	server := serverURL()
	admin, err := sql.Open("postgres", server)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redact(server), err)
	}
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("PostgreSQL is not reachable at %s (start it or set PULSE_TEST_DATABASE_URL): %w",
			redact(server), err)
	}
	return admin, nil
}

// withDatabase returns server's URL with its database replaced by name.
func withDatabase(server, name string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	u.Path = "/" + name
	return u.String()
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the configured server"
	}
	return u.Redacted()
}
