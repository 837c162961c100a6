package partition

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// retentionCutoff is the instant before which no project keeps events:
// now less the longest retention. ok is false when some project keeps its
// events for ever (retention_days NULL), or there is no project.
func retentionCutoff(ctx context.Context, db *sql.DB, now time.Time) (cutoff time.Time, ok bool, err error) {
	var projects, limited int
	var longest sql.NullInt64
	err = db.QueryRowContext(ctx, `SELECT count(*), count(retention_days), max(retention_days) FROM projects`).
		Scan(&projects, &limited, &longest)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read projects' retention: %w", err)
	}
	if projects == 0 || limited < projects || !longest.Valid {
		return time.Time{}, false, nil
	}
	return now.Add(-time.Duration(longest.Int64) * 24 * time.Hour), true, nil
}

// dropExpired drops the partitions of events whose whole range is before
// the retention cutoff: the history partition first, then the oldest
// months. All go in one transaction, which takes events ACCESS EXCLUSIVE
// (as dropping a partition does) for a moment, or gives up after
// lockTimeout. Nothing is dropped while events is not partitioned yet.
func dropExpired(ctx context.Context, db *sql.DB, now time.Time, lockTimeout time.Duration) ([]string, error) {
	cutoff, ok, err := retentionCutoff(ctx, db, now)
	if err != nil || !ok {
		return nil, err
	}
	tx, err := ddlTx(ctx, db, lockTimeout)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	var partitioned bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_class WHERE oid = to_regclass($1) AND relkind = 'p')`,
		eventsTable).Scan(&partitioned); err != nil {
		return nil, fmt.Errorf("look at events: %w", err)
	}
	if !partitioned {
		return nil, nil
	}
	parts, err := listPartitions(ctx, tx, eventsTable)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, p := range parts { // history first, then by start
		if p.to.After(cutoff) {
			break
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+pq.QuoteIdentifier(p.name)); err != nil {
			return nil, fmt.Errorf("drop partition %s: %w", p.name, err)
		}
		dropped = append(dropped, p.name)
	}
	if len(dropped) == 0 {
		return nil, nil
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit dropped partitions: %w", err)
	}
	return dropped, nil
}
