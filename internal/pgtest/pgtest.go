// Package pgtest gives each test package its own PostgreSQL database, cloned
// from a migrated template so that it is ready in milliseconds. Use it from
// TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and call DB(t) (or DSN(t)) in tests. Tests share the package database and
// keep apart by creating their own projects, so they can run in parallel.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/migrate"
	"github.com/pulse-analytics/pulse/migrations"
)

// defaultURL is the server tests use unless PULSE_TEST_DATABASE_URL says otherwise.
const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockKey serialises template creation across test processes.
const templateLockKey int64 = 0x70756c736574 // "pulset"

// packageDB is the database of this test process.
type packageDB struct {
	once sync.Once
	dsn  string
	db   *sql.DB
	err  error
}

// The database of the test binary. It is process state by nature: one test
// binary is one package, and Main drops the database when the tests end.
var current packageDB

// Main runs the tests of a package, then drops its database.
func Main(m *testing.M) {
	code := m.Run()
	if current.db != nil {
		_ = current.db.Close()
		if err := dropDatabase(context.Background(), current.dsn); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// DB returns the package's database, creating it on first use.
func DB(t testing.TB) *sql.DB {
	t.Helper()
	current.once.Do(func() { current.dsn, current.db, current.err = create(context.Background()) })
	if current.err != nil {
		t.Fatalf("pgtest: %v", current.err)
	}
	return current.db
}

// DSN returns the connection string of the package's database.
func DSN(t testing.TB) string {
	t.Helper()
	DB(t)
	return current.dsn
}

func serverURL() string {
	if v := os.Getenv("PULSE_TEST_DATABASE_URL"); v != "" {
		return v
	}
	return defaultURL
}

func create(ctx context.Context) (string, *sql.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	server := serverURL()
	admin, err := sql.Open("postgres", server)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", server, err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		return "", nil, fmt.Errorf("PostgreSQL is not reachable at %s (set PULSE_TEST_DATABASE_URL): %w", server, err)
	}
	template, err := ensureTemplate(ctx, admin, server)
	if err != nil {
		return "", nil, err
	}
	dropAbandoned(ctx, admin)
	name := fmt.Sprintf("pulse_t_%d_%s", os.Getpid(), randomHex(4))
	if err := cloneTemplate(ctx, admin, template, name); err != nil {
		return "", nil, err
	}
	dsn := withDatabase(server, name)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", name, err)
	}
	db.SetMaxOpenConns(16)
	return dsn, db, nil
}

// ensureTemplate returns the name of a migrated template for the current
// migrations, building it once per schema under a lock. A template is built
// under a temporary name and renamed when complete, so a name that exists is
// always a finished template.
func ensureTemplate(ctx context.Context, admin *sql.DB, server string) (string, error) {
	version, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "pulse_tmpl_" + version
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return "", fmt.Errorf("lock template: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLockKey)
	}()
	if exists, err := databaseExists(ctx, conn, name); err != nil || exists {
		return name, err
	}
	building := name + "_building"
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop stale %s: %w", building, err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return "", fmt.Errorf("create %s: %w", building, err)
	}
	db, err := sql.Open("postgres", withDatabase(server, building))
	if err != nil {
		return "", fmt.Errorf("open %s: %w", building, err)
	}
	err = migrate.Up(ctx, db, slog.New(slog.DiscardHandler))
	_ = db.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	// Renaming needs the template to have no connections; the pool above is closed.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return "", fmt.Errorf("finish template %s: %w", name, err)
	}
	return name, nil
}

// cloneTemplate creates name from template, retrying while another session
// briefly holds the template (SQLSTATE 55006).
func cloneTemplate(ctx context.Context, admin *sql.DB, template, name string) error {
	for attempt := 0; ; attempt++ {
		_, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template)
		var pqErr *pq.Error
		if err == nil {
			return nil
		}
		if !errors.As(err, &pqErr) || pqErr.Code != "55006" || attempt >= 50 {
			return fmt.Errorf("create test database from %s: %w", template, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
}

// dropAbandoned drops databases of test processes that died before Main
// could drop them (their pid is gone).
func dropAbandoned(ctx context.Context, admin *sql.DB) {
	rows, err := admin.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'pulse\_t\_%'`)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		parts := strings.Split(name, "_")
		if len(parts) < 4 {
			continue
		}
		pid, err := strconv.Atoi(parts[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, fs.ErrNotExist) {
			stale = append(stale, name)
		}
	}
	_ = rows.Close()
	for _, name := range stale {
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
}

func dropDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("parse %s: %w", dsn, err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("postgres", serverURL())
	if err != nil {
		return fmt.Errorf("open server: %w", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

type execQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func databaseExists(ctx context.Context, q execQuerier, name string) (bool, error) {
	var exists bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("look for database %s: %w", name, err)
	}
	return exists, nil
}

// migrationsHash names the schema: a new migration makes a new template.
func migrationsHash() (string, error) {
	sum, err := fs.ReadFile(migrations.FS, "atlas.sum")
	if err != nil {
		return "", fmt.Errorf("read atlas.sum: %w", err)
	}
	h := sha256.Sum256(sum)
	return hex.EncodeToString(h[:6]), nil
}

func withDatabase(server, name string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
