package partition

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// swapSteps replace events by its partitioned copy, under an ACCESS
// EXCLUSIVE lock of both, as the migration does at once for an empty
// events (migrations/20261207014000_events_partitioned.sql): dropping
// events drops its triggers; the copy takes ent's names; its identity
// sequence, whose numbers the copy never drew (rows keep their ids),
// continues from the old one's.
var swapSteps = []string{
	`DROP TABLE events`,
	`DROP FUNCTION events_partition_mirror_insert(), events_partition_mirror_update(),
		events_partition_mirror_delete(), events_partition_mirror_truncate()`,
	`DROP TABLE ` + progressTable,
	`ALTER TABLE events_partitioned RENAME TO events`,
	`ALTER TABLE events RENAME CONSTRAINT events_partitioned_pkey TO events_pkey`,
	`ALTER INDEX events_partitioned_project_id_user_id_timestamp RENAME TO event_project_id_user_id_timestamp`,
	`ALTER INDEX events_partitioned_project_id_name_timestamp RENAME TO event_project_id_name_timestamp`,
	`ALTER SEQUENCE events_partitioned_id_seq RENAME TO events_id_seq`,
}

// swap replaces events by the partitioned copy when the copy is complete,
// in one transaction that waits at most lockTimeout for its locks (it then
// fails with a lock timeout, and the next run tries again). It reports
// whether it swapped.
func swap(ctx context.Context, db *sql.DB, lockTimeout time.Duration) (bool, error) {
	tx, err := ddlTx(ctx, db, lockTimeout)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	if ok, err := migrating(ctx, tx); err != nil || !ok {
		return false, err
	}
	// events first, as writers take them (a write of events mirrors into
	// the copy).
	if _, err := tx.ExecContext(ctx, `LOCK TABLE events, events_partitioned IN ACCESS EXCLUSIVE MODE`); err != nil {
		return false, fmt.Errorf("lock events for the swap: %w", err)
	}
	var done bool
	if err := tx.QueryRowContext(ctx, `SELECT copied_through >= copy_until FROM `+progressTable).Scan(&done); err != nil {
		return false, fmt.Errorf("read copy progress: %w", err)
	}
	if !done {
		return false, nil
	}
	var sequence string
	if err := tx.QueryRowContext(ctx, `SELECT pg_get_serial_sequence('events', 'id')`).Scan(&sequence); err != nil {
		return false, fmt.Errorf("find events' id sequence: %w", err)
	}
	var nextID int64
	// sequence is PostgreSQL's own quoted name.
	if err := tx.QueryRowContext(ctx, `SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM `+sequence).
		Scan(&nextID); err != nil {
		return false, fmt.Errorf("read events' id sequence: %w", err)
	}
	for _, step := range swapSteps {
		if _, err := tx.ExecContext(ctx, step); err != nil {
			return false, fmt.Errorf("swap events: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `SELECT setval('events_id_seq', $1, false)`, nextID); err != nil {
		return false, fmt.Errorf("move events' id sequence: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit the swap: %w", err)
	}
	return true, nil
}
