package recompute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// QueueRealtime is the River queue of incremental passes and sweeps, apart
// from full recomputes: a long recompute never holds up real time.
const QueueRealtime = "realtime"

// DefaultDelay is how long marks gather before a segment's pass takes
// them: a burst of events is one pass per segment, not one per event.
const DefaultDelay = time.Second

// maxPassUsers bounds the users one pass re-evaluates; the marks it leaves
// are dispatched again by the next sweep.
const maxPassUsers = 20_000

// PassArgs is the incremental pass of one segment: it re-evaluates the
// users marked dirty for it and writes their changes as a run. Only the
// segment is part of its uniqueness: one pass is waiting or running per
// segment, and marks made while it runs are dispatched by the next sweep.
type PassArgs struct {
	SegmentID int `json:"segment_id" river:"unique"`
	ProjectID int `json:"project_id"`
}

// Kind names the job in River.
func (PassArgs) Kind() string { return "segment_pass" }

// InsertOpts put passes on the real-time queue, one waiting per segment.
func (PassArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueRealtime,
		MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
				rivertype.JobStateRunning, rivertype.JobStateScheduled,
			},
		},
	}
}

var _ river.JobArgsWithInsertOpts = PassArgs{}

// membershipLock is the key of the transaction-level advisory lock a run
// holds from before it reads the data until it commits, from the
// segment's id: a pass never commits between a full recompute's evaluation
// and its write, which would otherwise undo the pass with older data.
const membershipLock = `hashtextextended('pulse segment membership ' || $1::text, 0)`

// lockMembership takes the segment's membership lock in tx, waiting.
func lockMembership(ctx context.Context, tx *sql.Tx, segmentID int) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+membershipLock+`)`, segmentID); err != nil {
		return fmt.Errorf("lock membership of segment %d: %w", segmentID, err)
	}
	return nil
}

// tryLockMembership takes the segment's membership lock in tx if free.
func tryLockMembership(ctx context.Context, tx *sql.Tx, segmentID int) (bool, error) {
	var locked bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(`+membershipLock+`)`, segmentID).Scan(&locked); err != nil {
		return false, fmt.Errorf("lock membership of segment %d: %w", segmentID, err)
	}
	return locked, nil
}

// passWorker runs segment passes.
type passWorker struct {
	river.WorkerDefaults[PassArgs]
	db    *sql.DB
	now   func() time.Time
	delay time.Duration
}

// Timeout bounds one pass.
func (w *passWorker) Timeout(*river.Job[PassArgs]) time.Duration { return time.Minute }

// Work takes the segment's marks, re-evaluates those users with the
// segment's compiled rule restricted to them and writes their changes as a
// run (trigger INGEST), in one transaction with the job's completion; a
// pass that changes nobody writes no run. Marks are taken first, in a
// short transaction of their own, so a pass never holds them while it
// evaluates: a change meanwhile clears the mark's taken flag (see
// dirty.Mark) and the pass leaves it for the next. After a crash the
// retry takes the same marks again.
func (w *passWorker) Work(ctx context.Context, job *river.Job[PassArgs]) error {
	_, err := w.passOnce(ctx, job.Args, tryLockMembership, func(ctx context.Context, tx *sql.Tx) error {
		faultPoint(ctx, "pass-written", Args{SegmentID: job.Args.SegmentID, ProjectID: job.Args.ProjectID})
		if _, err := river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, job); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
			return fmt.Errorf("complete pass %d: %w", job.ID, err)
		}
		return nil
	})
	if errors.Is(err, errSegmentHeld) {
		// A full recompute holds the segment: come back after it rather
		// than hold a worker (the marks stay, taken, for this job).
		return river.JobSnooze(w.delay)
	}
	return err
}

// RunPass runs the passes of a segment outside River (tests, benchmarks)
// until it has no marks, as jobs do, with the clock at now; it waits for a
// full recompute holding the segment.
func RunPass(ctx context.Context, db *sql.DB, a PassArgs, now time.Time) error {
	w := &passWorker{db: db, now: func() time.Time { return now }}
	wait := func(ctx context.Context, tx *sql.Tx, segmentID int) (bool, error) {
		return true, lockMembership(ctx, tx, segmentID)
	}
	for {
		took, err := w.passOnce(ctx, a, wait, nil)
		if err != nil || took == 0 {
			return err
		}
	}
}

// errSegmentHeld says a full recompute holds the segment's membership lock.
var errSegmentHeld = errors.New("the segment is being recomputed")

// passOnce takes the segment's marks and runs one pass over them: lock
// takes the membership lock (false: a full recompute holds it, and
// passOnce returns errSegmentHeld), complete, when set, completes the job
// in the pass's transaction. It returns how many users it took.
func (w *passWorker) passOnce(ctx context.Context, a PassArgs, lock func(context.Context, *sql.Tx, int) (bool, error),
	complete func(context.Context, *sql.Tx) error) (int, error) {
	users, err := takeMarks(ctx, w.db, a.SegmentID)
	if err != nil || len(users) == 0 {
		return 0, err
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin pass of segment %d: %w", a.SegmentID, err)
	}
	defer func() { _ = tx.Rollback() }()
	locked, err := lock(ctx, tx, a.SegmentID)
	if err != nil {
		return 0, err
	}
	if !locked {
		return 0, errSegmentHeld
	}
	if err := w.pass(ctx, tx, a, users); err != nil {
		return 0, err
	}
	if complete != nil {
		if err := complete(ctx, tx); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit pass of segment %d: %w", a.SegmentID, err)
	}
	// After the commit, in a statement of its own: changes wait for a
	// mark only as long as this delete. Should the process die first, the
	// marks stay taken and the next pass finds these users unchanged.
	return len(users), dropMarks(ctx, w.db, a.SegmentID, users)
}

// pass re-evaluates users, whose marks it took, in tx under the segment's
// membership lock.
func (w *passWorker) pass(ctx context.Context, tx *sql.Tx, a PassArgs, users []int64) error {
	seg, err := loadRealtime(ctx, tx, a)
	if err != nil {
		return err
	}
	if seg == nil {
		// A segment no longer real time (or gone) drops its marks (after
		// the commit): its next full recompute covers them.
		return nil
	}
	// The clock is read after the marks were taken: the sweep that made a
	// mark committed before, at an earlier instant.
	now := w.now()
	seg.env.Now = now
	next, err := evaluateUsers(ctx, tx, seg.rule, seg.env, users)
	if err != nil {
		return fmt.Errorf("evaluate %d users of segment %d: %w", len(users), a.SegmentID, err)
	}
	// Members of a real-time segment are written only by its runs, which
	// hold the membership lock: they are read without the row lock, which
	// only a write needs (for the run's seq), so a pass that moves nobody
	// writes nothing at all.
	current, err := currentOf(ctx, tx, a.SegmentID, users)
	if err != nil {
		return err
	}
	entered, exited := diffSorted(next, current)
	if len(entered) == 0 && len(exited) == 0 {
		return nil
	}
	if err := lockSegment(ctx, tx, a.SegmentID); err != nil {
		return err
	}
	var size int
	if err := tx.QueryRowContext(ctx, `SELECT size FROM segments WHERE id = $1`, a.SegmentID).Scan(&size); err != nil {
		return fmt.Errorf("size of segment %d: %w", a.SegmentID, err)
	}
	return w.writePass(ctx, tx, a, next, current, size, now)
}

// writePass writes a pass's diff as a committed run of trigger INGEST.
func (w *passWorker) writePass(ctx context.Context, tx *sql.Tx, a PassArgs, next, current []int64, size int, started time.Time) error {
	var runID int
	if err := tx.QueryRowContext(ctx, `
		INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, started_at, entered_count, exited_count)
		VALUES ($1, $2, 'INGEST', 'RUNNING', $3, $3, 0, 0) RETURNING id`, a.ProjectID, a.SegmentID, started).Scan(&runID); err != nil {
		return fmt.Errorf("create run of segment %d: %w", a.SegmentID, err)
	}
	run := Args{SegmentID: a.SegmentID, ProjectID: a.ProjectID, RunID: runID}
	res, err := writeDiff(ctx, tx, run, next, current, w.now().UTC())
	if err != nil {
		return err
	}
	res.Size = size + res.Entered - res.Exited
	res.Duration = w.now().Sub(started)
	return finishPass(ctx, tx, run, res)
}

// realtimeSegment is what a pass needs of its segment.
type realtimeSegment struct {
	rule *segment.Rule
	env  segment.Env
}

// loadRealtime loads the segment's rule and calendar, or nil when the
// segment is not real time any more (archived, switched off, STATIC).
func loadRealtime(ctx context.Context, tx *sql.Tx, a PassArgs) (*realtimeSegment, error) {
	var (
		rule     []byte
		timezone string
	)
	err := tx.QueryRowContext(ctx, `
		SELECT s.rule, p.timezone FROM segments s JOIN projects p ON p.id = s.project_id
		WHERE s.id = $1 AND s.project_id = $2 AND s.archived_at IS NULL AND s.kind = 'DYNAMIC'
		AND s.realtime_sources IS NOT NULL AND p.realtime`, a.SegmentID, a.ProjectID).Scan(&rule, &timezone)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load segment %d: %w", a.SegmentID, err)
	}
	r, err := segment.Decode(rule)
	if err != nil {
		return nil, fmt.Errorf("segment %d: %w", a.SegmentID, err)
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return nil, fmt.Errorf("project time zone %q: %w", timezone, err)
	}
	return &realtimeSegment{rule: r, env: segment.Env{ProjectID: a.ProjectID, Location: loc}}, nil
}

// takeMarks flags up to maxPassUsers marks of the segment taken, in a
// transaction of its own, and returns their users, sorted. A change
// committed after this clears the flag again. The marks are locked in
// user order, as every transaction that marks locks them (see dirty.Mark),
// so the two never deadlock.
func takeMarks(ctx context.Context, db *sql.DB, segmentID int) ([]int64, error) {
	var users pq.Int64Array
	err := inAsyncTx(ctx, db, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
		WITH locked AS (
			SELECT user_id FROM segment_dirty_users WHERE segment_id = $1 ORDER BY user_id LIMIT $2 FOR UPDATE
		), taken AS (
			UPDATE segment_dirty_users d SET taken = true FROM locked WHERE d.segment_id = $1 AND d.user_id = locked.user_id
			RETURNING d.user_id)
		SELECT COALESCE(array_agg(user_id ORDER BY user_id), '{}') FROM taken`, segmentID, maxPassUsers).Scan(&users)
	})
	if err != nil {
		return nil, fmt.Errorf("take dirty users of segment %d: %w", segmentID, err)
	}
	return users, nil
}

// dropMarks deletes, once the pass committed, the marks of users it took
// and no change has cleared since. A change still uncommitted holds its
// mark's row: the delete waits for it, and then finds the flag cleared.
func dropMarks(ctx context.Context, db *sql.DB, segmentID int, users []int64) error {
	err := inAsyncTx(ctx, db, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
		WITH locked AS (
			SELECT user_id FROM segment_dirty_users WHERE segment_id = $1 AND user_id = ANY($2::bigint[]) ORDER BY user_id FOR UPDATE
		)
		DELETE FROM segment_dirty_users d USING locked WHERE d.segment_id = $1 AND d.user_id = locked.user_id AND d.taken`,
			segmentID, pq.Array(users))
		return err
	})
	if err != nil {
		return fmt.Errorf("drop the marks of segment %d: %w", segmentID, err)
	}
	return nil
}

// inAsyncTx runs fn in a transaction that commits without waiting for its
// WAL to reach disk. Taking and dropping marks may be lost by a crash of
// PostgreSQL without harm: a taken flag lost leaves the mark to the next
// pass, a drop lost leaves marks whose users the next pass finds
// unchanged; and a commit of the server returns no sooner for them.
func inAsyncTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// evaluateUsers evaluates the rule for users only and returns those it
// holds for, sorted.
func evaluateUsers(ctx context.Context, tx *sql.Tx, r *segment.Rule, env segment.Env, users []int64) ([]int64, error) {
	env.Users = users
	q, err := segment.Compile(r, env)
	if err != nil {
		return nil, err
	}
	// Over a few users the plan's cost estimate can still pass
	// jit_above_cost; compiling it costs more than the whole evaluation.
	if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
		return nil, fmt.Errorf("tune evaluation: %w", err)
	}
	var ids pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM (`+q.SQL+`) m(id)`, q.Args...).Scan(&ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// currentOf returns which of users are members of the segment now, sorted;
// the caller holds the segment's membership lock.
func currentOf(ctx context.Context, tx *sql.Tx, segmentID int, users []int64) ([]int64, error) {
	var current pq.Int64Array
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(user_id ORDER BY user_id), '{}') FROM segment_members
		WHERE segment_id = $1 AND user_id = ANY($2::bigint[])`, segmentID, pq.Array(users)).Scan(&current)
	if err != nil {
		return nil, fmt.Errorf("current members of segment %d: %w", segmentID, err)
	}
	return current, nil
}
