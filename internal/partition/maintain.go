package partition

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DefaultPeriod is how often the maintenance job runs.
const DefaultPeriod = time.Hour

// analyzeEvery is how often events itself (its statistics as a whole,
// which the planner reads for estimates across partitions) is analyzed:
// autovacuum analyzes the partitions, never a partitioned table.
const analyzeEvery = 24 * time.Hour

// swapAttempts is how many times one run tries the swap when its locks
// time out.
const swapAttempts = 3

// Options configure partition maintenance.
type Options struct {
	// Now is the clock that decides which months are ahead, which
	// partitions every retention has passed and which message keys are
	// old (default time.Now).
	Now func() time.Time
	// Period is how often the job runs (default DefaultPeriod; negative:
	// never, for processes whose tests have no use for it).
	Period time.Duration
	// BatchSize is how many rows each batch of the online copy takes
	// (default DefaultBatchSize).
	BatchSize int
	// LockTimeout bounds the wait of each DDL statement for its lock
	// (default DefaultLockTimeout).
	LockTimeout time.Duration
	// OnReport observes the report of every run (metrics).
	OnReport func(Report)
	// OnCopyBatch observes the online copy's progress after each batch.
	OnCopyBatch func(Progress)
	Logger      *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Report is what one maintenance run did.
type Report struct {
	// Skipped: another session was maintaining; this run did nothing.
	Skipped bool
	// Created and Dropped name the partitions created and dropped.
	Created, Dropped []string
	// Trimmed counts the message keys deleted (older than DedupWindow).
	Trimmed int64
	// Copy is the online copy's progress after the run, nil when events
	// was partitioned already; Swapped, whether this run swapped.
	Copy    *Progress
	Swapped bool
	// Analyzed: events' statistics were refreshed.
	Analyzed bool
	// Partitions counts the partitions of events after the run (0 while
	// it is not partitioned yet).
	Partitions int
}

// Maintain runs the partition maintenance once: creates the partitions of
// this month and the next AheadMonths, trims event_messages, continues the
// online copy (and swaps once it is complete), drops the partitions every
// project's retention has passed and refreshes events' statistics when
// they are a day old. A lock that times out leaves its step for the next
// run. One session maintains at a time; others return Skipped.
func Maintain(ctx context.Context, db *sql.DB, opts Options) (Report, error) {
	opts = opts.withDefaults()
	var report Report
	release, ok, err := maintenanceLock(ctx, db)
	if err != nil {
		return report, err
	}
	if !ok {
		return Report{Skipped: true}, nil
	}
	defer release()
	now := opts.Now()
	report.Created, err = ensure(ctx, db, aheadMonths(now), opts.LockTimeout)
	if err := soft(ctx, opts.Logger, "creating the months ahead", err); err != nil {
		return report, err
	}
	if report.Trimmed, err = trimMessages(ctx, db, now, trimBatch); err != nil {
		return report, err
	}
	if err := continueMigration(ctx, db, opts, now, &report); err != nil {
		return report, err
	}
	if report.Copy == nil || report.Swapped {
		report.Dropped, err = dropExpired(ctx, db, now, opts.LockTimeout)
		if err := soft(ctx, opts.Logger, "dropping expired partitions", err); err != nil {
			return report, err
		}
	}
	if report.Analyzed, err = analyzeIfStale(ctx, db); err != nil {
		return report, err
	}
	if report.Partitions, err = countPartitions(ctx, db); err != nil {
		return report, err
	}
	logReport(ctx, opts.Logger, report)
	if opts.OnReport != nil {
		opts.OnReport(report)
	}
	return report, nil
}

// soft is err, but for a lock timeout, which is logged: the step is tried
// again at the next run. (Attaching a month waits only for what locks
// events SHARE UPDATE EXCLUSIVE or more, an ANALYZE or a DDL statement;
// dropping one, for every reader and writer.)
func soft(ctx context.Context, logger *slog.Logger, step string, err error) error {
	if !IsLockTimeout(err) {
		return err
	}
	logger.WarnContext(ctx, step+" waited too long for its lock on events; the next run tries again", "error", err)
	return nil
}

// continueMigration copies, then swaps, when events is being partitioned
// online.
func continueMigration(ctx context.Context, db *sql.DB, opts Options, now time.Time, report *Report) error {
	ok, err := migrating(ctx, db)
	if err != nil || !ok {
		return err
	}
	progress, err := copyOnline(ctx, db, opts.BatchSize, now, opts.LockTimeout, opts.OnCopyBatch)
	report.Copy = &progress
	if err != nil {
		return err
	}
	for attempt := 1; attempt <= swapAttempts && !report.Swapped; attempt++ {
		report.Swapped, err = swap(ctx, db, opts.LockTimeout)
		if !IsLockTimeout(err) {
			return err
		}
		opts.Logger.WarnContext(ctx, "the swap of events waited too long for its locks", "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(opts.LockTimeout):
		}
	}
	return nil
}

// maintenanceLock takes the maintenance lock on a connection of its own,
// if no other session holds it; release frees both.
func maintenanceLock(ctx context.Context, db *sql.DB) (release func(), ok bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("connect for partition maintenance: %w", err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, maintenanceLockKey).Scan(&ok); err != nil || !ok {
		_ = conn.Close()
		if err != nil {
			return nil, false, fmt.Errorf("take the partition maintenance lock: %w", err)
		}
		return nil, false, nil
	}
	return func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, maintenanceLockKey); err != nil {
			// The session lock lives with the connection: end it.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}, true, nil
}

// analyzeIfStale analyzes events when it is partitioned and its own
// statistics are missing or older than analyzeEvery.
func analyzeIfStale(ctx context.Context, db *sql.DB) (bool, error) {
	var stale bool
	err := db.QueryRowContext(ctx, `SELECT COALESCE(s.last_analyze < now() - make_interval(secs => $2), true)
		FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
		WHERE c.oid = to_regclass($1) AND c.relkind = 'p'`, eventsTable, analyzeEvery.Seconds()).Scan(&stale)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !stale) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read events' statistics age: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE events`); err != nil {
		return false, fmt.Errorf("analyze events: %w", err)
	}
	return true, nil
}

func countPartitions(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass($1)`, eventsTable).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events' partitions: %w", err)
	}
	return n, nil
}

func logReport(ctx context.Context, logger *slog.Logger, r Report) {
	attrs := []any{"created", r.Created, "dropped", r.Dropped, "trimmed_message_keys", r.Trimmed, "partitions", r.Partitions}
	if r.Copy != nil {
		attrs = append(attrs, "copied_through", r.Copy.CopiedThrough, "copy_until", r.Copy.CopyUntil, "rows_copied", r.Copy.Rows, "swapped", r.Swapped)
	}
	level := slog.LevelDebug
	if len(r.Created) > 0 || len(r.Dropped) > 0 || r.Copy != nil {
		level = slog.LevelInfo
	}
	logger.Log(ctx, level, "partition maintenance", attrs...)
}
