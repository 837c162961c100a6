package partition

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
)

// The tables of the layout. shadowTable and progressTable exist only while
// an installation's events are being partitioned online.
const (
	eventsTable   = "events"
	shadowTable   = "events_partitioned"
	progressTable = "events_partition_copy"
	historyName   = "events_history"
)

// ddlLockKey is the transaction-level advisory lock every DDL statement on
// the partitions runs under ("pulseprt"); maintenanceLockKey the
// session-level one a maintenance run holds ("pulsemnt"), so that one
// process maintains at a time.
const (
	ddlLockKey         int64 = 0x70756c7365707274
	maintenanceLockKey int64 = 0x70756c73656d6e74
)

// MonthStart is the first instant of t's month in UTC: where its
// partition starts.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// MonthName is the name of the partition of the month starting at month,
// events_yYYYYmMM.
func MonthName(month time.Time) string {
	return fmt.Sprintf("events_y%04dm%02d", month.Year(), int(month.Month()))
}

// AheadMonths is how many months after the current one have their
// partitions made in advance.
const AheadMonths = 2

// aheadMonths are the months whose partitions should exist at now: this
// one and AheadMonths more.
func aheadMonths(now time.Time) []time.Time {
	first := MonthStart(now)
	months := make([]time.Time, 0, AheadMonths+1)
	for i := range AheadMonths + 1 {
		months = append(months, first.AddDate(0, i, 0))
	}
	return months
}

// part is one partition and its range [from, to); from is zero for the
// history partition (MINVALUE).
type part struct {
	name     string
	from, to time.Time
}

func (p part) covers(t time.Time) bool {
	return (p.from.IsZero() || !t.Before(p.from)) && t.Before(p.to)
}

// queryer is what listing partitions needs: a transaction or a pool.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// listPartitionsSQL reads the bounds of table's partitions from the
// catalog. A bound is written out as a literal with its offset (the
// session's zone), which the cast reads back as an instant.
const listPartitionsSQL = `
	SELECT c.relname,
		CASE WHEN b[1] = 'MINVALUE' THEN NULL ELSE btrim(b[1], '''')::timestamptz END,
		btrim(b[2], '''')::timestamptz
	FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid,
	LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), '^FOR VALUES FROM \((.+)\) TO \((.+)\)$') b
	WHERE i.inhparent = to_regclass($1)
	ORDER BY 2 NULLS FIRST`

// listPartitions returns table's partitions, history first, then by start.
func listPartitions(ctx context.Context, q queryer, table string) ([]part, error) {
	rows, err := q.QueryContext(ctx, listPartitionsSQL, pq.QuoteIdentifier(table))
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	defer func() { _ = rows.Close() }()
	var parts []part
	for rows.Next() {
		var (
			p    part
			from sql.NullTime
		)
		if err := rows.Scan(&p.name, &from, &p.to); err != nil {
			return nil, fmt.Errorf("list partitions of %s: %w", table, err)
		}
		if from.Valid {
			p.from = from.Time.UTC()
		}
		p.to = p.to.UTC()
		parts = append(parts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	return parts, nil
}

// partitionedTables are the tables whose partitions Pulse manages now:
// events once it is partitioned, else (during the online migration) the
// partitioned copy it will become.
func partitionedTables(ctx context.Context, q queryer) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT relname FROM pg_class
		WHERE oid IN (to_regclass($1), to_regclass($2)) AND relkind = 'p' ORDER BY relname`, eventsTable, shadowTable)
	if err != nil {
		return nil, fmt.Errorf("find partitioned tables: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("find partitioned tables: %w", err)
		}
		tables = append(tables, name)
	}
	return tables, rows.Err()
}

// literal is t as a timestamptz literal for DDL, which takes no parameters.
func literal(t time.Time) string {
	return pq.QuoteLiteral(t.UTC().Format("2006-01-02 15:04:05.999999") + "+00")
}

// distinctMonths are the month starts of times, sorted, each once.
func distinctMonths(times []time.Time) []time.Time {
	months := make([]time.Time, 0, 2)
	for _, t := range times {
		if m := MonthStart(t); !slices.ContainsFunc(months, m.Equal) {
			months = append(months, m)
		}
	}
	slices.SortFunc(months, func(a, b time.Time) int { return a.Compare(b) })
	return months
}
