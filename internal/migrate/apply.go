package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// apply runs one pending migration and records it. A file runs in one
// transaction with its record, so a failure leaves neither behind, unless
// it opts out with "-- atlas:txmode none".
func (m *migrator) apply(ctx context.Context, conn *sql.Conn, f file) error {
	start := time.Now()
	if f.stmts != nil {
		if err := applyWithoutTx(ctx, conn, f); err != nil {
			return err
		}
	} else if err := applyInTx(ctx, conn, f); err != nil {
		return err
	}
	m.logger.InfoContext(ctx, "applied migration", "version", f.version, "name", f.name,
		"duration", time.Since(start))
	return nil
}

func applyInTx(ctx context.Context, conn *sql.Conn, f file) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration %s: %w", f.name, err)
	}
	defer func() { _ = tx.Rollback() }()
	// Without arguments lib/pq sends the file as one simple query, which
	// PostgreSQL runs statement by statement inside this transaction.
	if _, err := tx.ExecContext(ctx, f.sql); err != nil {
		return fmt.Errorf("apply migration %s: %w", f.name, err)
	}
	if _, err := tx.ExecContext(ctx, insertRevision, f.version, f.name, f.hash); err != nil {
		return fmt.Errorf("record migration %s: %w", f.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration %s: %w", f.name, err)
	}
	return nil
}

// applyWithoutTx runs a "txmode none" file statement by statement. A failure
// part-way leaves the earlier statements applied and the file unrecorded, so
// such files must be written to be re-runnable (IF NOT EXISTS).
func applyWithoutTx(ctx context.Context, conn *sql.Conn, f file) error {
	for i, stmt := range f.stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("apply migration %s, statement %d (no transaction; earlier statements stay applied): %w",
				f.name, i+1, err)
		}
	}
	if _, err := conn.ExecContext(ctx, insertRevision, f.version, f.name, f.hash); err != nil {
		return fmt.Errorf("record migration %s: %w", f.name, err)
	}
	return nil
}
