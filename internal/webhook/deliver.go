package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"

	"github.com/pulse-analytics/pulse/internal/fault"
)

// deliverWorker works webhook_deliver jobs.
type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	db   *sql.DB
	opts Options
}

// jobTimeout bounds one job: workBudget of deliveries, then the last
// attempt (at most Timeout) and the hand-off.
const jobTimeout = 2 * time.Minute

// workBudget is how long one job delivers before it hands its stream to a
// successor, so a long backlog never runs into the job's timeout.
const workBudget = time.Minute

// lockedSnooze is how long a job waits when another holds its stream (the
// holder is finishing, or is a duplicate River rescued), after trying
// again lockedTries times lockedPause apart.
const (
	lockedSnooze = time.Second
	lockedTries  = 20
	lockedPause  = 50 * time.Millisecond
)

// maxWaitInJob is the longest a job waits for its stream's next attempt
// itself rather than through a successor: River makes a scheduled job
// available within its scheduler's period (5 s), which would stretch the
// schedule's first retry (5 s) to up to 10 s. A job waiting holds a worker
// slot but no connection.
const maxWaitInJob = 6 * time.Second

func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return jobTimeout }

// step is what an attempt leaves the job to do.
type step int

const (
	stepNext   step = iota // a message was attempted: try the next
	stepDone               // nothing is pending, or not soon: hand off and finish
	stepWait               // the next attempt is due soon (at)
	stepLocked             // another job holds the stream: wait
)

// Work delivers the stream's pending messages in (seq, id) order, one
// transaction per attempt, until none is due (waiting for a retry due
// within maxWaitInJob); then it completes and, if messages are still
// pending (a later retry to come), queues its successor for the first
// one's next attempt, in the transaction that completes it.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	started := time.Now()
	locked := 0
	for time.Since(started) < workBudget {
		next, due, err := w.attempt(ctx, job.Args)
		if err != nil {
			return err
		}
		wait := time.Duration(0)
		switch next {
		case stepNext:
			locked = 0
			continue
		case stepDone:
			return w.handOff(ctx, job)
		case stepWait:
			wait = due.Sub(w.opts.Now())
			if wait > maxWaitInJob || time.Since(started)+wait > workBudget {
				return w.handOff(ctx, job)
			}
		case stepLocked:
			if locked++; locked > lockedTries {
				return river.JobSnooze(lockedSnooze)
			}
			wait = lockedPause
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	return w.handOff(ctx, job)
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the next attempt: %w", ctx.Err())
	}
}

// lockStreamSQL takes the stream's transaction-level advisory lock, if
// free: two jobs never deliver one stream at once.
const lockStreamSQL = `SELECT pg_try_advisory_xact_lock(hashtextextended('webhook_deliver:' || $1::bigint || ':' || $2::bigint, 0))`

func lockStream(ctx context.Context, tx *sql.Tx, s DeliverArgs) (bool, error) {
	var locked bool
	if err := tx.QueryRowContext(ctx, lockStreamSQL, s.EndpointID, s.SegmentID).Scan(&locked); err != nil {
		return false, fmt.Errorf("lock stream %d/%d: %w", s.EndpointID, s.SegmentID, err)
	}
	return locked, nil
}

// attempt makes one attempt at the stream's first pending message, if it
// is due, and records it with the message's new state in one transaction:
// a process killed before that commit leaves the message pending, and the
// next attempt sends it again with the same webhook-id.
func (w *deliverWorker) attempt(ctx context.Context, s DeliverArgs) (step, time.Time, error) {
	var none time.Time
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, none, fmt.Errorf("begin delivery: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if locked, err := lockStream(ctx, tx, s); err != nil || !locked {
		return stepLocked, none, err
	}
	e, found, err := loadEndpoint(ctx, tx, s.EndpointID)
	if err != nil || !found {
		return stepDone, none, err // a deleted endpoint's messages went with it
	}
	m, found, err := head(ctx, tx, s, true)
	if err != nil || !found {
		return stepDone, none, err
	}
	now := w.opts.Now()
	if e.disabledAt != nil {
		if err := failPending(ctx, tx, e.id); err != nil {
			return 0, none, err
		}
		return stepDone, none, commit(tx)
	}
	if m.nextAttemptAt != nil && m.nextAttemptAt.After(now) {
		return stepWait, *m.nextAttemptAt, nil
	}
	res := w.send(ctx, e, m, now)
	if ctx.Err() != nil {
		// Stopping: whether the receiver got it is unknown, so no attempt
		// is recorded and the message is sent again, with its webhook-id.
		return 0, none, fmt.Errorf("deliver message %d: %w", m.id, ctx.Err())
	}
	outcome, err := w.record(ctx, tx, e, m, res, now)
	if err != nil {
		return 0, none, err
	}
	fault.Pause(ctx, "webhook-sent", fmt.Sprintf("endpoint=%d segment=%d message=%s attempt=%d status=%d", e.id, s.SegmentID, m.webhookID, m.attempts+1, res.status))
	if err := commit(tx); err != nil {
		return 0, none, err
	}
	w.opts.OnAttempt(e.id, outcome, res.latency)
	return stepNext, none, nil
}

func commit(tx *sql.Tx) error {
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit delivery: %w", err)
	}
	return nil
}

// handOff completes the job and, when the stream still has pending
// messages, queues its successor at the first one's next attempt, in one
// transaction. A run committing messages meanwhile found this job running
// and queued none: River's unique insert locked this job's row until that
// run committed, so completing the job waits for it, and the pending
// messages read next include the run's.
func (w *deliverWorker) handOff(ctx context.Context, job *river.Job[DeliverArgs]) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin hand-off: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if locked, err := lockStream(ctx, tx, job.Args); err != nil || !locked {
		if err != nil {
			return err
		}
		return river.JobSnooze(lockedSnooze)
	}
	if _, err := river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, job); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
		return fmt.Errorf("complete delivery job %d: %w", job.ID, err)
	}
	m, found, err := head(ctx, tx, job.Args, false)
	if err != nil {
		return err
	}
	if found {
		at := time.Now()
		if m.nextAttemptAt != nil {
			// River keeps the real clock; the schedule may use another.
			at = at.Add(m.nextAttemptAt.Sub(w.opts.Now()))
		}
		if _, err := river.ClientFromContext[*sql.Tx](ctx).InsertTx(ctx, tx, job.Args, &river.InsertOpts{ScheduledAt: at}); err != nil {
			return fmt.Errorf("queue the successor of delivery job %d: %w", job.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit hand-off: %w", err)
	}
	return nil
}

func loadEndpoint(ctx context.Context, tx *sql.Tx, id int) (endpoint, bool, error) {
	e := endpoint{id: id}
	err := tx.QueryRowContext(ctx, `
		SELECT project_id, kind, url, secret, previous_secret, previous_secret_until, write_key, disabled_at, failing_since
		FROM webhook_endpoints WHERE id = $1`, id).Scan(&e.projectID, &e.kind, &e.url, &e.secret, &e.previousSecret, &e.previousUntil,
		&e.writeKey, &e.disabledAt, &e.failingSince)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("load endpoint %d: %w", id, err)
	}
	return e, true, nil
}

// headSQL reads a stream's first pending message through
// webhookmessage_pending_stream, which holds pending messages only: the
// stream's index of every message would walk all it ever delivered first.
const headSQL = `
	SELECT id, webhook_id, type, seq, body, attempts, next_attempt_at FROM webhook_messages
	WHERE endpoint_id = $1 AND segment_id = $2 AND state = 'PENDING'
	ORDER BY seq, id LIMIT 1`

// head is the stream's first pending message, locked when lock is set.
func head(ctx context.Context, tx *sql.Tx, s DeliverArgs, lock bool) (message, bool, error) {
	query := headSQL
	if lock {
		query += ` FOR NO KEY UPDATE`
	}
	var m message
	err := tx.QueryRowContext(ctx, query, s.EndpointID, s.SegmentID).Scan(&m.id, &m.webhookID, &m.typ, &m.seq, &m.body, &m.attempts, &m.nextAttemptAt)
	if errors.Is(err, sql.ErrNoRows) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("next message of stream %d/%d: %w", s.EndpointID, s.SegmentID, err)
	}
	return m, true, nil
}

// failPending gives up every pending message of a disabled endpoint.
func failPending(ctx context.Context, tx *sql.Tx, endpointID int) error {
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_messages SET state = 'FAILED', next_attempt_at = NULL
		WHERE endpoint_id = $1 AND state = 'PENDING'`, endpointID); err != nil {
		return fmt.Errorf("fail the messages of endpoint %d: %w", endpointID, err)
	}
	return nil
}
