package recompute

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"

	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// NotifyChannel is the pg_notify channel a committed run is announced on;
// the payload is small JSON naming the run (see Notification).
const NotifyChannel = "pulse_segment_runs"

// ErrNoSegment is returned for a segment that does not exist in the
// project, or is archived.
var ErrNoSegment = errors.New("no such active segment")

// Notification is the pg_notify payload announcing a run's new state:
// RUNNING when a worker starts it, FAILED when an attempt fails (Final when
// no retry follows), COMPLETED when it commits, with its Seq. It names the
// run; listeners load what they need, so payloads stay small.
type Notification struct {
	ProjectID int    `json:"project_id"`
	SegmentID int    `json:"segment_id"`
	RunID     int    `json:"run_id"`
	Status    string `json:"status"`
	Seq       int    `json:"seq,omitempty"`
	Final     bool   `json:"final,omitempty"`
}

// Worker runs recompute_segment jobs.
type Worker struct {
	river.WorkerDefaults[Args]
	db      *sql.DB
	now     func() time.Time
	onDrift func(int)
}

// NewWorker returns a Worker over db.
func NewWorker(db *sql.DB) *Worker { return &Worker{db: db, now: time.Now} }

// Timeout bounds one recompute.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return Timeout }

// Work recomputes the segment. The job is completed in the run's own write
// transaction, so job and run never disagree: once the run is committed, a
// new request queues a new run, and a job re-executed after a crash finds
// its run committed and does nothing. On failure the previous membership
// stays as it was, the run and the segment are marked FAILED with the
// error, and River retries with backoff.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	err := w.recompute(ctx, job.Args, func(ctx context.Context, tx *sql.Tx) error { return completeJob(ctx, tx, job) })
	if err == nil {
		return nil
	}
	final := job.Attempt >= job.MaxAttempts || errors.Is(err, ErrNoSegment)
	if markErr := w.fail(context.WithoutCancel(ctx), job.Args, err, final); markErr != nil {
		return errors.Join(err, markErr)
	}
	if errors.Is(err, ErrNoSegment) {
		return river.JobCancel(err) // archived or deleted: nothing to retry
	}
	return err
}

// Recompute computes the members of one segment and writes the difference,
// outside River (benchmarks, tests): the run is completed without a job.
func (w *Worker) Recompute(ctx context.Context, a Args) error {
	return w.recompute(ctx, a, nil)
}

// completeJob marks job completed in tx and queues the segment's follow-up
// run, if a request came while this one ran.
func completeJob(ctx context.Context, tx *sql.Tx, job *river.Job[Args]) error {
	_, err := river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, job)
	if err != nil && !errors.Is(err, rivertype.ErrNotFound) {
		// A job deleted while it ran (River's UI) leaves its run to
		// complete all the same.
		return fmt.Errorf("complete job %d: %w", job.ID, err)
	}
	return adoptFollowUp(ctx, tx, river.ClientFromContext[*sql.Tx](ctx), job.Args)
}

// recompute runs a. The rule is evaluated first, read-only; the write
// transaction then locks the segment, writes the diff against its current
// members, completes the run and, with complete, its job. A run already
// committed is never touched again: complete alone is done.
func (w *Worker) recompute(ctx context.Context, a Args, complete func(context.Context, *sql.Tx) error) error {
	started := w.now().UTC()
	// The run is announced RUNNING before the segment row is touched: a
	// run waiting for another holder of that row is already seen running.
	var startedRun, notified any
	err := w.db.QueryRowContext(ctx, `
		WITH run AS (
			UPDATE segment_runs SET status = 'RUNNING', started_at = $2, error = NULL
			WHERE id = $1 AND project_id = $3 AND status <> 'COMPLETED' RETURNING id
		) SELECT id, pg_notify($4, $5) FROM run`,
		a.RunID, started, a.ProjectID, NotifyChannel, notification(a, "RUNNING", 0, false)).Scan(&startedRun, &notified)
	if errors.Is(err, sql.ErrNoRows) {
		return w.completeOnly(ctx, a, complete) // committed already (or gone)
	}
	if err != nil {
		return fmt.Errorf("start run %d: %w", a.RunID, err)
	}
	if _, err := w.db.ExecContext(ctx, `UPDATE segments SET status = 'COMPUTING' WHERE id = $1 AND project_id = $2`, a.SegmentID, a.ProjectID); err != nil {
		return fmt.Errorf("mark segment %d computing: %w", a.SegmentID, err)
	}
	def, err := w.compile(ctx, a)
	if err != nil {
		return err
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin recompute: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// The membership lock is held from before the data is read until the
	// commit: no incremental pass of the segment commits in between, so
	// every change the evaluation misses keeps its mark for the next pass.
	if err := lockMembership(ctx, tx, a.SegmentID); err != nil {
		return err
	}
	var members []int64
	if !def.static {
		if members, err = evaluate(ctx, tx, def.query); err != nil {
			return fmt.Errorf("evaluate rule of segment %d: %w", a.SegmentID, err)
		}
	}
	faultPoint(ctx, "evaluated", a)
	committed, err := lockRun(ctx, tx, a)
	if err != nil {
		return err
	}
	if !committed {
		if err := w.write(ctx, tx, a, def, members, started); err != nil {
			return err
		}
	}
	if complete != nil {
		if err := complete(ctx, tx); err != nil {
			return err
		}
	}
	faultPoint(ctx, "written", a)
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit recompute of segment %d: %w", a.SegmentID, err)
	}
	faultPoint(ctx, "committed", a)
	return nil
}

// write writes the run's diff and completes the run, in tx under the
// segment's lock.
func (w *Worker) write(ctx context.Context, tx *sql.Tx, a Args, def definition, members []int64, started time.Time) error {
	var res result
	var err error
	if def.static {
		// A STATIC segment's members change only by mutation.
		if err = tx.QueryRowContext(ctx, `SELECT count(*) FROM segment_members WHERE segment_id = $1`, a.SegmentID).Scan(&res.Size); err != nil {
			return fmt.Errorf("size of segment %d: %w", a.SegmentID, err)
		}
	} else {
		current, err := currentMembers(ctx, tx, a.SegmentID)
		if err != nil {
			return err
		}
		members = sorted(members)
		drift, err := w.drift(ctx, tx, a, def, members, current)
		if err != nil {
			return err
		}
		if res, err = writeDiff(ctx, tx, a, members, current, w.now().UTC()); err != nil {
			return err
		}
		res.Drift = drift
	}
	res.Duration = w.now().Sub(started)
	if res.Drift != nil && w.onDrift != nil {
		w.onDrift(*res.Drift)
	}
	return finish(ctx, tx, a, res)
}

// completeOnly completes the job of a run committed by an earlier attempt.
func (w *Worker) completeOnly(ctx context.Context, a Args, complete func(context.Context, *sql.Tx) error) error {
	if complete == nil {
		return nil
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin completion of run %d: %w", a.RunID, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := lockSegment(ctx, tx, a.SegmentID); err != nil {
		return err
	}
	if err := complete(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit completion of run %d: %w", a.RunID, err)
	}
	return nil
}

// lockRun takes the segment's lock, then reads whether the run committed
// meanwhile (another execution of the same job got the lock first).
func lockRun(ctx context.Context, tx *sql.Tx, a Args) (committed bool, err error) {
	if err := lockSegment(ctx, tx, a.SegmentID); err != nil {
		return false, err
	}
	var status string
	err = tx.QueryRowContext(ctx, `SELECT status FROM segment_runs WHERE id = $1 AND project_id = $2 FOR UPDATE`, a.RunID, a.ProjectID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("run %d: %w", a.RunID, ErrNoSegment)
	}
	if err != nil {
		return false, fmt.Errorf("lock run %d: %w", a.RunID, err)
	}
	return status == "COMPLETED", nil
}

// definition is a segment as a full recompute sees it.
type definition struct {
	// static: a STATIC segment has no rule; its members stay as they are.
	static bool
	query  segment.Query
	// realtime: the segment also moves by incremental passes, and a full
	// recompute measures their drift.
	realtime bool
	rule     *segment.Rule
	env      segment.Env
	sweptAt  *time.Time
}

// compile loads the segment and its project's calendar and compiles the
// rule.
func (w *Worker) compile(ctx context.Context, a Args) (definition, error) {
	var (
		kind      string
		rule      []byte
		timezone  string
		retention int
		def       definition
	)
	err := w.db.QueryRowContext(ctx, `
		SELECT s.kind, s.rule, p.timezone, COALESCE(p.retention_days, 0), s.realtime_sources IS NOT NULL AND p.realtime, s.swept_at
		FROM segments s JOIN projects p ON p.id = s.project_id
		WHERE s.id = $1 AND s.project_id = $2 AND s.archived_at IS NULL`, a.SegmentID, a.ProjectID).Scan(&kind, &rule, &timezone, &retention, &def.realtime, &def.sweptAt)
	if errors.Is(err, sql.ErrNoRows) {
		return def, fmt.Errorf("recompute segment %d: %w", a.SegmentID, ErrNoSegment)
	}
	if err != nil {
		return def, fmt.Errorf("load segment %d: %w", a.SegmentID, err)
	}
	if kind == "STATIC" {
		def.static = true
		return def, nil
	}
	if def.rule, err = segment.Decode(rule); err != nil {
		return def, fmt.Errorf("segment %d: %w", a.SegmentID, err)
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return def, fmt.Errorf("project time zone %q: %w", timezone, err)
	}
	def.env = segment.Env{ProjectID: a.ProjectID, Now: w.now(), Location: loc, RetentionDays: retention}
	if def.query, err = segment.Compile(def.rule, def.env); err != nil {
		return def, fmt.Errorf("compile segment %d: %w", a.SegmentID, err)
	}
	return def, nil
}

// fail records a failed attempt on the run and the segment, outside the
// rolled-back transaction; a run that committed (a commit whose answer was
// lost) stays as it is. A final failure is announced to webhooks in the
// same transaction.
func (w *Worker) fail(ctx context.Context, a Args, cause error, final bool) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin recording failure of run %d: %w", a.RunID, err)
	}
	defer func() { _ = tx.Rollback() }()
	var failed int
	err = tx.QueryRowContext(ctx, `
		WITH run AS (
			UPDATE segment_runs SET status = 'FAILED', error = $3, finished_at = now()
			WHERE id = $2 AND project_id = $4 AND status <> 'COMPLETED' RETURNING id
		), seg AS (
			UPDATE segments SET status = 'FAILED', last_error = $3 WHERE id = $1 AND project_id = $4 AND EXISTS (SELECT 1 FROM run)
		) SELECT count(pg_notify($5, $6)) FROM run`,
		a.SegmentID, a.RunID, cause.Error(), a.ProjectID, NotifyChannel, notification(a, "FAILED", 0, final)).Scan(&failed)
	if err != nil {
		return fmt.Errorf("record failure of run %d: %w", a.RunID, err)
	}
	if final && failed > 0 {
		if err := webhook.EnqueueRunFailure(ctx, tx, webhook.RunFailure{ProjectID: a.ProjectID, SegmentID: a.SegmentID, RunID: a.RunID,
			At: w.now().UTC(), Error: cause.Error()}); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit failure of run %d: %w", a.RunID, err)
	}
	return nil
}

func notification(a Args, status string, seq int, final bool) string {
	b, _ := json.Marshal(Notification{ProjectID: a.ProjectID, SegmentID: a.SegmentID, RunID: a.RunID, Status: status, Seq: seq, Final: final})
	return string(b)
}
