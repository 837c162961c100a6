package recompute

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/internal/segment"
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
	db  *sql.DB
	now func() time.Time
}

// NewWorker returns a Worker over db.
func NewWorker(db *sql.DB) *Worker { return &Worker{db: db, now: time.Now} }

// Timeout bounds one recompute.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return Timeout }

// Work recomputes the segment. On failure the previous membership stays as
// it was, the run and the segment are marked FAILED with the error, and
// River retries with backoff.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	err := w.Recompute(ctx, job.Args)
	if err == nil || errors.Is(err, ErrNoSegment) {
		return err
	}
	final := job.Attempt >= job.MaxAttempts
	if markErr := w.fail(context.WithoutCancel(ctx), job.Args, err, final); markErr != nil {
		return errors.Join(err, markErr)
	}
	return err
}

// Recompute computes the members of one segment and writes the difference.
// The rule is evaluated first, read-only; the write transaction then locks
// the segment, writes the diff against its current members and completes
// the run.
func (w *Worker) Recompute(ctx context.Context, a Args) error {
	started := w.now().UTC()
	// The run is announced RUNNING before the segment row is touched: a
	// run waiting for another holder of that row is already seen running.
	if _, err := w.db.ExecContext(ctx, `
		WITH run AS (UPDATE segment_runs SET status = 'RUNNING', started_at = $2, error = NULL WHERE id = $1 AND project_id = $3)
		SELECT pg_notify($4, $5)`,
		a.RunID, started, a.ProjectID, NotifyChannel, notification(a, "RUNNING", 0, false)); err != nil {
		return fmt.Errorf("start run %d: %w", a.RunID, err)
	}
	if _, err := w.db.ExecContext(ctx, `UPDATE segments SET status = 'COMPUTING' WHERE id = $1 AND project_id = $2`, a.SegmentID, a.ProjectID); err != nil {
		return fmt.Errorf("mark segment %d computing: %w", a.SegmentID, err)
	}
	q, static, err := w.compile(ctx, a)
	if err != nil {
		return err
	}
	var members []int64
	if !static {
		if members, err = evaluate(ctx, w.db, q); err != nil {
			return fmt.Errorf("evaluate rule of segment %d: %w", a.SegmentID, err)
		}
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin recompute: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := lockSegment(ctx, tx, a.SegmentID); err != nil {
		return err
	}
	var res result
	if static {
		// A STATIC segment's members change only by mutation.
		if err = tx.QueryRowContext(ctx, `SELECT count(*) FROM segment_members WHERE segment_id = $1`, a.SegmentID).Scan(&res.Size); err != nil {
			err = fmt.Errorf("size of segment %d: %w", a.SegmentID, err)
		}
	} else {
		res, err = applyDiff(ctx, tx, a, members, w.now().UTC())
	}
	if err != nil {
		return err
	}
	res.Duration = w.now().Sub(started)
	if err := finish(ctx, tx, a, res); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit recompute of segment %d: %w", a.SegmentID, err)
	}
	return nil
}

// compile loads the segment and its project's calendar and compiles the
// rule. A STATIC segment has no rule: its members are kept as they are.
func (w *Worker) compile(ctx context.Context, a Args) (segment.Query, bool, error) {
	var (
		kind     string
		rule     []byte
		timezone string
	)
	err := w.db.QueryRowContext(ctx, `
		SELECT s.kind, s.rule, p.timezone FROM segments s JOIN projects p ON p.id = s.project_id
		WHERE s.id = $1 AND s.project_id = $2 AND s.archived_at IS NULL`, a.SegmentID, a.ProjectID).Scan(&kind, &rule, &timezone)
	if errors.Is(err, sql.ErrNoRows) {
		return segment.Query{}, false, fmt.Errorf("recompute segment %d: %w", a.SegmentID, ErrNoSegment)
	}
	if err != nil {
		return segment.Query{}, false, fmt.Errorf("load segment %d: %w", a.SegmentID, err)
	}
	if kind == "STATIC" {
		return segment.Query{}, true, nil
	}
	r, err := segment.Decode(rule)
	if err != nil {
		return segment.Query{}, false, fmt.Errorf("segment %d: %w", a.SegmentID, err)
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return segment.Query{}, false, fmt.Errorf("project time zone %q: %w", timezone, err)
	}
	q, err := segment.Compile(r, segment.Env{ProjectID: a.ProjectID, Now: w.now(), Location: loc})
	if err != nil {
		return segment.Query{}, false, fmt.Errorf("compile segment %d: %w", a.SegmentID, err)
	}
	return q, false, nil
}

// fail records a failed attempt on the run and the segment, outside the
// rolled-back transaction.
func (w *Worker) fail(ctx context.Context, a Args, cause error, final bool) error {
	_, err := w.db.ExecContext(ctx, `
		WITH run AS (UPDATE segment_runs SET status = 'FAILED', error = $3, finished_at = now() WHERE id = $2 AND project_id = $4),
		seg AS (UPDATE segments SET status = 'FAILED', last_error = $3 WHERE id = $1 AND project_id = $4)
		SELECT pg_notify($5, $6)`,
		a.SegmentID, a.RunID, cause.Error(), a.ProjectID, NotifyChannel, notification(a, "FAILED", 0, final))
	if err != nil {
		return fmt.Errorf("record failure of run %d: %w", a.RunID, err)
	}
	return nil
}

func notification(a Args, status string, seq int, final bool) string {
	b, _ := json.Marshal(Notification{ProjectID: a.ProjectID, SegmentID: a.SegmentID, RunID: a.RunID, Status: status, Seq: seq, Final: final})
	return string(b)
}
