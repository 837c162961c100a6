// Package migrate applies Pulse's embedded SQL migrations, then River's, under
// a PostgreSQL advisory lock so that processes starting together do not race.
//
// Pulse's migrations live in the migrations package: Atlas-format files
// generated from ent/schema, with an atlas.sum that guards them against
// hand edits. Each applied file is recorded in pulse_schema_revisions with
// the SHA-256 of its content, so a migration edited after it was applied is
// refused (see EditedError) rather than silently diverging.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pulse-analytics/pulse/migrations"
)

// Up applies every pending Pulse migration, each in its own transaction and
// in version order, then River's migrations, all under the migration lock.
// Re-running it on a migrated database is a no-op. logger may be nil.
//
// The lock is held on one connection of db while the work runs on others, so
// db must allow at least two open connections.
func Up(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	return newMigrator(db, migrations.FS, logger).up(ctx)
}

// UpFS is Up with the migrations of files (Atlas-format, with their
// atlas.sum) in place of the embedded ones: a test applies the first of
// Pulse's to build a database as an older version left it.
func UpFS(ctx context.Context, db *sql.DB, files fs.FS, logger *slog.Logger) error {
	return newMigrator(db, files, logger).up(ctx)
}

// Pending returns how many Pulse and River migrations are not applied to db
// yet; /readyz reports a database with pending migrations as not ready. It
// takes no lock and changes nothing.
func Pending(ctx context.Context, db *sql.DB) (int, error) {
	return newMigrator(db, migrations.FS, nil).pending(ctx)
}

// migrator applies the migrations of one directory. Up and Pending use the
// embedded migrations; tests inject their own fs.FS.
type migrator struct {
	db     *sql.DB
	files  fs.FS
	logger *slog.Logger
}

func newMigrator(db *sql.DB, files fs.FS, logger *slog.Logger) *migrator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &migrator{db: db, files: files, logger: logger}
}

func (m *migrator) up(ctx context.Context) error {
	// Reading and checking the files first means a broken build fails before
	// it waits for, or holds, the lock.
	files, err := load(m.files)
	if err != nil {
		return err
	}
	return withLock(ctx, m.db, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, createRevisionsTable); err != nil {
			return fmt.Errorf("create %s: %w", revisionsTable, err)
		}
		applied, err := appliedHashes(ctx, conn)
		if err != nil {
			return err
		}
		if err := m.checkApplied(ctx, files, applied); err != nil {
			return err
		}
		for _, f := range files {
			if _, ok := applied[f.version]; ok {
				continue
			}
			if err := m.apply(ctx, conn, f); err != nil {
				return err
			}
		}
		return m.upRiver(ctx)
	})
}

// checkApplied refuses to go on when an applied migration has changed, before
// anything is applied: the database and this binary disagree about history.
func (m *migrator) checkApplied(ctx context.Context, files []file, applied map[string]string) error {
	known := make(map[string]bool, len(files))
	for _, f := range files {
		known[f.version] = true
		if hash, ok := applied[f.version]; ok && hash != f.hash {
			return &EditedError{Version: f.name, AppliedHash: hash, FileHash: f.hash}
		}
	}
	for version := range applied {
		// During a rolling deploy an older binary meets a database that a
		// newer one migrated; migrations only add, so it can still run.
		if !known[version] {
			m.logger.WarnContext(ctx, "database has a migration this binary does not know; is it older than the database?",
				"version", version)
		}
	}
	return nil
}

func (m *migrator) pending(ctx context.Context) (int, error) {
	files, err := load(m.files)
	if err != nil {
		return 0, err
	}
	var exists bool
	if err := m.db.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, revisionsTable).Scan(&exists); err != nil {
		return 0, fmt.Errorf("look for %s: %w", revisionsTable, err)
	}
	applied := map[string]string{}
	if exists {
		if applied, err = appliedHashes(ctx, m.db); err != nil {
			return 0, err
		}
	}
	pending := 0
	for _, f := range files {
		if _, ok := applied[f.version]; !ok {
			pending++
		}
	}
	riverPending, err := m.pendingRiver(ctx)
	if err != nil {
		return 0, err
	}
	return pending + riverPending, nil
}
