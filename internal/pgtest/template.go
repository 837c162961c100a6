package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/pulse-analytics/pulse/internal/migrate"
)

// templateLockKey is the advisory lock, in the server's maintenance
// database, under which a test process looks for the template and builds it
// when missing, so parallel test binaries build it once.
const templateLockKey int64 = 0x70756c736574 // "pulset"

// ensureTemplate returns the name of the migrated template for the current
// schema, building it if no test process has yet. A template is built under a
// temporary name and renamed when complete, so a template that exists under
// its final name is always complete.
func ensureTemplate(ctx context.Context, admin *sql.DB) (string, error) {
	fingerprint, err := migrate.Fingerprint()
	if err != nil {
		return "", fmt.Errorf("fingerprint the schema: %w", err)
	}
	name := "pulse_tmpl_" + fingerprint
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, templateLockKey); err != nil {
		return "", fmt.Errorf("take template lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, templateLockKey)
	}()
	var exists bool
	err = conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	if err != nil {
		return "", fmt.Errorf("look for template %s: %w", name, err)
	}
	if exists {
		return name, nil
	}
	if err := buildTemplate(ctx, conn, name); err != nil {
		return "", fmt.Errorf("build template %s: %w", name, err)
	}
	return name, nil
}

func buildTemplate(ctx context.Context, conn *sql.Conn, name string) error {
	building := pq.QuoteIdentifier(name + "_building")
	// A process that died while building left this behind; the lock says no
	// live one is building.
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop stale %s: %w", building, err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return fmt.Errorf("create %s: %w", building, err)
	}
	db, err := sql.Open("postgres", withDatabase(serverURL(), name+"_building"))
	if err != nil {
		return fmt.Errorf("open %s: %w", building, err)
	}
	err = migrate.Up(ctx, db, slog.New(slog.DiscardHandler))
	// Cloning needs the template to have no sessions: close every one now.
	_ = db.Close()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// No connections from now on, autovacuum's included: a session on the
	// template would make CREATE DATABASE ... TEMPLATE fail.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+building+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("close %s to connections: %w", building, err)
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+pq.QuoteIdentifier(name)); err != nil {
		return fmt.Errorf("rename %s: %w", building, err)
	}
	return nil
}

// cloneAttempts bounds the retries of cloneTemplate. PostgreSQL already waits
// up to 5 s for the template's other sessions to go before it reports them.
const cloneAttempts = 10

// cloneTemplate creates name from template, retrying while another session
// holds the template (SQLSTATE 55006, object_in_use): templates built by
// older versions of this package still accept connections.
func cloneTemplate(ctx context.Context, admin *sql.DB, template, name string) error {
	create := "CREATE DATABASE " + pq.QuoteIdentifier(name) + " TEMPLATE " + pq.QuoteIdentifier(template)
	for attempt := 1; ; attempt++ {
		_, err := admin.ExecContext(ctx, create)
		if err == nil {
			return nil
		}
		if pq.As(err, pqerror.ObjectInUse) == nil || attempt == cloneAttempts {
			return fmt.Errorf("create test database from %s: %w", template, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create test database from %s: %w", template, errors.Join(err, ctx.Err()))
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}
