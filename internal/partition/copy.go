package partition

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultBatchSize is how many rows of events one batch of the online copy
// takes: each is one short transaction.
const DefaultBatchSize = 10000

// Progress is where the online copy of events stands.
type Progress struct {
	// CopiedThrough is the id up to which every row of events is in the
	// partitioned copy; CopyUntil, the largest id events had when the
	// mirroring triggers were made (later rows were mirrored by them).
	CopiedThrough, CopyUntil int64
	// Rows counts the rows the batches have read so far.
	Rows int64
}

// Done reports whether every row is copied.
func (p Progress) Done() bool { return p.CopiedThrough >= p.CopyUntil }

// migrating reports whether the online partitioning of events is under
// way: the migration made the progress table, the swap drops it.
func migrating(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (bool, error) {
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, progressTable).Scan(&exists); err != nil {
		return false, fmt.Errorf("look for %s: %w", progressTable, err)
	}
	return exists, nil
}

// eventColumns are events' columns, in the table's order.
const eventColumns = `id, name, "timestamp", received_at, properties, platform, message_id, project_id, user_id`

// copyBatchSQL copies the next $3 rows after id $1 (up to $2) into the
// partitioned copy, with the message keys of those received since $4.
// FOR SHARE makes a merge or an erasure of one of these rows wait for the
// batch to commit, after which its trigger, taking a new snapshot, finds
// the copied row and mirrors the change onto it; a change made first makes
// the batch wait for it and then read the new version (or skip a deleted
// row), which the trigger had already mirrored. ON CONFLICT skips rows a
// mirror wrote first.
var copyBatchSQL = `
	WITH batch AS (
		SELECT ` + eventColumns + ` FROM events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3 FOR SHARE
	), copied AS (
		INSERT INTO events_partitioned (` + eventColumns + `) SELECT ` + eventColumns + ` FROM batch
		ON CONFLICT DO NOTHING
	), keyed AS (
		INSERT INTO event_messages (project_id, message_key, received_at)
		SELECT project_id, ` + KeySQL("message_id") + `, received_at FROM batch WHERE received_at >= $4
		ON CONFLICT DO NOTHING
	)
	SELECT count(*), COALESCE(max(id), 0) FROM batch`

// copyLockTimeout bounds a batch's wait for a row lock (a merge or an
// erasure holding one of its rows). It is shorter than PostgreSQL's
// deadlock_timeout (1 s by default), so a batch caught in a cycle with
// one of them gives up, and is tried again, before the deadlock detector
// could choose the merge or the erasure as its victim.
const copyLockTimeout = 100 * time.Millisecond

// batchAttempts bounds the tries of one batch whose locks time out or
// deadlock; the next run goes on after the last committed batch.
const batchAttempts = 50

// batchMonthsSQL are the months of the rows the same batch would copy.
const batchMonthsSQL = `SELECT DISTINCT date_trunc('month', "timestamp", 'UTC')
	FROM (SELECT "timestamp" FROM events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3) b`

// copyOnline copies batches until every row is copied, ctx ends or a
// batch fails. Each batch commits with its progress, so a copy killed at
// any point resumes after the last committed batch. after, when set, sees
// the progress after each batch.
func copyOnline(ctx context.Context, db *sql.DB, size int, now time.Time, lockTimeout time.Duration, after func(Progress)) (Progress, error) {
	for {
		p, err := copyBatchRetrying(ctx, db, size, now)
		if IsNoPartition(err) {
			// A row of a month the migration did not foresee (its
			// partitions cover the months its statistics showed).
			if err = ensureBatchMonths(ctx, db, p, size, lockTimeout); err == nil {
				p, err = copyBatchRetrying(ctx, db, size, now)
			}
		}
		if err != nil {
			return p, err
		}
		if after != nil {
			after(p)
		}
		if p.Done() {
			return p, nil
		}
		if err := ctx.Err(); err != nil {
			return p, err
		}
	}
}

// copyBatchRetrying copies one batch, trying it again while it gives up
// on its locks or is a deadlock's victim.
func copyBatchRetrying(ctx context.Context, db *sql.DB, size int, now time.Time) (Progress, error) {
	for attempt := 1; ; attempt++ {
		p, err := copyBatch(ctx, db, size, now)
		if attempt == batchAttempts || !(IsLockTimeout(err) || isDeadlock(err)) {
			return p, err
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-time.After(min(time.Duration(attempt)*copyLockTimeout, time.Second)):
		}
	}
}

// copyBatch copies one batch and records it, in one transaction. On error
// it returns the progress the batch started from.
func copyBatch(ctx context.Context, db *sql.DB, size int, now time.Time) (Progress, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Progress{}, fmt.Errorf("begin copy batch: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, copyLockTimeout.Milliseconds())); err != nil {
		return Progress{}, fmt.Errorf("set the copy's lock timeout: %w", err)
	}
	var p Progress
	// The row lock orders copiers, should two ever run.
	err = tx.QueryRowContext(ctx, `SELECT copied_through, copy_until, rows_copied FROM `+progressTable+` FOR UPDATE`).
		Scan(&p.CopiedThrough, &p.CopyUntil, &p.Rows)
	if err != nil {
		return p, fmt.Errorf("read copy progress: %w", err)
	}
	if p.Done() {
		return p, nil
	}
	var n, last int64
	if err := tx.QueryRowContext(ctx, copyBatchSQL, p.CopiedThrough, p.CopyUntil, size, now.Add(-DedupWindow)).Scan(&n, &last); err != nil {
		return p, fmt.Errorf("copy events after id %d: %w", p.CopiedThrough, err)
	}
	next := p
	next.CopiedThrough, next.Rows = last, p.Rows+n
	if n < int64(size) {
		next.CopiedThrough = p.CopyUntil // nothing is left before it
	}
	if _, err := tx.ExecContext(ctx, `UPDATE `+progressTable+` SET copied_through = $1, rows_copied = $2, updated_at = now()`,
		next.CopiedThrough, next.Rows); err != nil {
		return p, fmt.Errorf("record copy progress: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return p, fmt.Errorf("commit copy batch: %w", err)
	}
	return next, nil
}

// ensureBatchMonths creates the partitions of the months of the batch
// after p.
func ensureBatchMonths(ctx context.Context, db *sql.DB, p Progress, size int, lockTimeout time.Duration) error {
	rows, err := db.QueryContext(ctx, batchMonthsSQL, p.CopiedThrough, p.CopyUntil, size)
	if err != nil {
		return fmt.Errorf("months of the copy batch: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var months []time.Time
	for rows.Next() {
		var m time.Time
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("months of the copy batch: %w", err)
		}
		months = append(months, m.UTC())
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("months of the copy batch: %w", err)
	}
	if len(months) == 0 {
		return errors.New("no partition for a row of the copy batch, which has no rows")
	}
	_, err = ensure(ctx, db, months, lockTimeout)
	return err
}
