package partition

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// DefaultLockTimeout bounds how long a DDL statement on events waits for
// its lock. A statement waiting for a lock makes every later one that
// conflicts with it queue behind it, ingestion's included, so it gives up
// soon and is tried again at the next run.
const DefaultLockTimeout = 2 * time.Second

// EnsureMonths creates the monthly partitions of the months of times that
// no partition covers yet, on events or, while events is being partitioned
// online, on the partitioned copy. Ingest calls it when a row found no
// partition. It returns the partitions it created.
func EnsureMonths(ctx context.Context, db *sql.DB, times []time.Time) ([]string, error) {
	return ensure(ctx, db, distinctMonths(times), DefaultLockTimeout)
}

// EnsureAhead creates the partitions of now's month and the AheadMonths
// after it that are missing, as the maintenance job does first. A database
// cloned from a template made months ago needs it before its first event.
func EnsureAhead(ctx context.Context, db *sql.DB, now time.Time) ([]string, error) {
	return ensure(ctx, db, aheadMonths(now), DefaultLockTimeout)
}

// ensure creates the partitions of months that are missing, in one
// transaction under the DDL lock. Each is created apart and attached,
// which locks events only SHARE UPDATE EXCLUSIVE (CREATE TABLE ...
// PARTITION OF would lock it ACCESS EXCLUSIVE, stopping ingestion for as
// long as it waits); the new table is empty, so attaching it scans
// nothing.
func ensure(ctx context.Context, db *sql.DB, months []time.Time, lockTimeout time.Duration) ([]string, error) {
	if len(months) == 0 {
		return nil, nil
	}
	tx, err := ddlTx(ctx, db, lockTimeout)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	tables, err := partitionedTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	var created []string
	for _, table := range tables {
		parts, err := listPartitions(ctx, tx, table)
		if err != nil {
			return nil, err
		}
		for _, month := range months {
			if covered(parts, month) {
				continue
			}
			if err := attachMonth(ctx, tx, table, month); err != nil {
				return nil, err
			}
			created = append(created, MonthName(month))
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit new partitions: %w", err)
	}
	return created, nil
}

func covered(parts []part, month time.Time) bool {
	for _, p := range parts {
		if p.covers(month) {
			return true
		}
	}
	return false
}

// attachMonth creates the partition of month and attaches it to table.
func attachMonth(ctx context.Context, tx *sql.Tx, table string, month time.Time) error {
	name := pq.QuoteIdentifier(MonthName(month))
	parent := pq.QuoteIdentifier(table)
	statements := []string{
		// Columns, defaults and NOT NULLs as the parent's, which ATTACH
		// requires; the indexes come with the attachment.
		fmt.Sprintf(`CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION)`, name, parent),
		fmt.Sprintf(`ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)`,
			parent, name, literal(month), literal(month.AddDate(0, 1, 0))),
	}
	for _, stmt := range statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create partition %s of %s: %w", MonthName(month), table, err)
		}
	}
	return nil
}

// ddlTx begins a transaction that holds the DDL lock, whose lock waits
// give up after lockTimeout.
func ddlTx(ctx context.Context, db *sql.DB, lockTimeout time.Duration) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin partition change: %w", err)
	}
	// SET takes no parameters; the value is a number of milliseconds.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, max(lockTimeout.Milliseconds(), 1))); err != nil {
		_ = tx.Rollback()
		return nil, fmt.Errorf("set lock timeout: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, ddlLockKey); err != nil {
		_ = tx.Rollback()
		return nil, fmt.Errorf("take partition lock: %w", err)
	}
	return tx, nil
}

// IsNoPartition reports whether err is PostgreSQL's refusal of a row that
// no partition of its table covers (check_violation, raised where rows are
// routed to partitions).
func IsNoPartition(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23514" && pqErr.Routine == "ExecFindPartition"
}

// isDeadlock reports whether PostgreSQL aborted the transaction to break a
// deadlock.
func isDeadlock(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "40P01"
}

// IsLockTimeout reports whether err is a lock wait that gave up
// (lock_not_available): the change is tried again at the next run.
func IsLockTimeout(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "55P03"
}
