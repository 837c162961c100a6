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

	"github.com/pulse-analytics/pulse/internal/jobstate"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// QueueRealtime is the River queue of incremental passes and sweeps, apart
// from full recomputes: a long recompute never holds up real time.
const QueueRealtime = "realtime"

// DefaultDelay is how long marks gather before a segment's pass takes
// them: a burst of events is one pass per segment, not one per event.
const DefaultDelay = time.Second

// maxPassMarks bounds the marks one pass consumes, and so the users it
// re-evaluates; the marks it leaves are dispatched again by the next sweep.
const maxPassMarks = 20_000

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
			ByArgs:  true,
			ByState: jobstate.WaitingOrRunning(),
		},
	}
}

var _ river.JobArgsWithInsertOpts = PassArgs{}

// membershipLock is the key of the transaction-level advisory lock a run
// holds from before it reads the data until it commits, from the
// segment's id: a pass never commits between a full recompute's evaluation
// and its write, which would otherwise undo the pass with older data.
const membershipLock = `hashtextextended('pulse segment membership ' || $1::text, 0)`

// membershipLockOf is membershipLock of the segment id in column.
func membershipLockOf(column string) string {
	return `hashtextextended('pulse segment membership ' || ` + column + `::text, 0)`
}

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

// Work reads the segment's marks, re-evaluates those users with the
// segment's compiled rule restricted to them and writes their changes as a
// run (trigger INGEST), deleting the marks it read, in one transaction
// with the job's completion; a pass that changes nobody writes no run. A
// change meanwhile waits for nothing: it inserts a mark of its own, which
// the pass leaves for the next (see readMarks). After a crash the retry
// reads the same marks again.
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
		// than hold a worker (the marks stay for this job).
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

// passOnce reads the segment's marks and runs one pass over them: lock
// takes the membership lock (false: a full recompute holds it, and
// passOnce returns errSegmentHeld), complete, when set, completes the job
// in the pass's transaction. It returns how many users it re-evaluated.
func (w *passWorker) passOnce(ctx context.Context, a PassArgs, lock func(context.Context, *sql.Tx, int) (bool, error),
	complete func(context.Context, *sql.Tx) error) (int, error) {
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
	marks, err := readMarks(ctx, tx, a.SegmentID)
	if err != nil || len(marks.users) == 0 {
		return 0, err
	}
	wrote, err := w.pass(ctx, tx, a, marks.users)
	if err != nil {
		return 0, err
	}
	if err := dropMarks(ctx, tx, a.SegmentID, marks, !wrote); err != nil {
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
	return len(marks.users), nil
}

// pass re-evaluates users, whose marks it took, in tx under the segment's
// membership lock, and says whether it wrote a run.
func (w *passWorker) pass(ctx context.Context, tx *sql.Tx, a PassArgs, users []int64) (bool, error) {
	seg, err := loadRealtime(ctx, tx, a)
	if err != nil {
		return false, err
	}
	if seg == nil {
		// A segment no longer real time (or gone) drops its marks: its
		// next full recompute covers them.
		return false, nil
	}
	// The clock is read after the marks were read: the sweep that made a
	// mark committed before, at an earlier instant.
	now := w.now()
	seg.env.Now = now
	next, current, err := evaluateUsers(ctx, tx, a.SegmentID, seg.rule, seg.env, users)
	if err != nil {
		return false, fmt.Errorf("evaluate %d users of segment %d: %w", len(users), a.SegmentID, err)
	}
	entered, exited := diffSorted(next, current)
	if len(entered) == 0 && len(exited) == 0 {
		return false, nil
	}
	if err := lockSegment(ctx, tx, a.SegmentID); err != nil {
		return false, err
	}
	var size int
	if err := tx.QueryRowContext(ctx, `SELECT size FROM segments WHERE id = $1`, a.SegmentID).Scan(&size); err != nil {
		return false, fmt.Errorf("size of segment %d: %w", a.SegmentID, err)
	}
	return true, w.writePass(ctx, tx, a, next, current, size, now)
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
	// The settings of the evaluation that follows are set here, one round
	// trip fewer (see evaluateUsers).
	err := tx.QueryRowContext(ctx, `
		SELECT s.rule, p.timezone, set_config('jit', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)
		FROM segments s JOIN projects p ON p.id = s.project_id
		WHERE s.id = $1 AND s.project_id = $2 AND s.archived_at IS NULL AND s.kind = 'DYNAMIC'
		AND s.realtime_sources IS NOT NULL AND p.realtime`, a.SegmentID, a.ProjectID).Scan(&rule, &timezone, new(string), new(string))
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

// marks are the marks of a segment a pass read: their rows, and their
// users, sorted and each once.
type marks struct {
	rows  []string
	users []int64
}

// readMarks reads up to maxPassMarks marks of the segment, in the pass's
// transaction, before the evaluation's snapshot: every change whose mark it
// reads is visible to the evaluation. A change it does not read (not yet
// committed, or committed since) has a mark of its own (see dirty.Mark),
// which stays for the next pass. Nobody but passes, which the membership
// lock runs one at a time, deletes or moves a mark: the rows' addresses
// stay valid until dropMarks deletes them.
func readMarks(ctx context.Context, tx *sql.Tx, segmentID int) (marks, error) {
	rows, err := tx.QueryContext(ctx, `SELECT ctid, user_id FROM segment_dirty_users WHERE segment_id = $1 ORDER BY user_id LIMIT $2`,
		segmentID, maxPassMarks)
	if err != nil {
		return marks{}, fmt.Errorf("read dirty users of segment %d: %w", segmentID, err)
	}
	defer func() { _ = rows.Close() }()
	var m marks
	for rows.Next() {
		var (
			row  string
			user int64
		)
		if err := rows.Scan(&row, &user); err != nil {
			return marks{}, fmt.Errorf("read dirty users of segment %d: %w", segmentID, err)
		}
		m.rows = append(m.rows, row)
		if n := len(m.users); n == 0 || m.users[n-1] != user {
			m.users = append(m.users, user)
		}
	}
	if err := rows.Err(); err != nil {
		return marks{}, fmt.Errorf("read dirty users of segment %d: %w", segmentID, err)
	}
	return m, nil
}

// dropMarks deletes the marks the pass read. No other transaction writes
// them, so this waits for nothing. A pass that wrote no run (quiet) then
// commits without waiting for its WAL to be flushed: should PostgreSQL
// crash before it is, the pass changed nothing but the marks, which come
// back, and the sweep queues a pass for them again.
func dropMarks(ctx context.Context, tx *sql.Tx, segmentID int, m marks, quiet bool) error {
	query := `DELETE FROM segment_dirty_users WHERE ctid = ANY($1::tid[])`
	if quiet {
		query = `WITH quiet AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
			DELETE FROM segment_dirty_users WHERE ctid = ANY($1::tid[]) AND EXISTS (SELECT FROM quiet)`
	}
	if _, err := tx.ExecContext(ctx, query, pq.Array(m.rows)); err != nil {
		return fmt.Errorf("drop the marks of segment %d: %w", segmentID, err)
	}
	return nil
}

// evaluateUsers evaluates the rule for users only and returns those it
// holds for and those of them that are members now, both sorted, in one
// statement. Members of a real-time segment are written only by its runs,
// which hold the membership lock, as the caller does: they are read
// without the row lock, which only a write needs (for the run's seq), so a
// pass that moves nobody writes nothing at all.
func evaluateUsers(ctx context.Context, tx *sql.Tx, segmentID int, r *segment.Rule, env segment.Env, users []int64) (next, current []int64, err error) {
	env.Users = users
	q, err := segment.Compile(r, env)
	if err != nil {
		return nil, nil, err
	}
	// loadRealtime turned jit off and forced a generic plan in tx: over a
	// few users the plan's cost estimate can still pass jit_above_cost,
	// and compiling it costs more than the whole evaluation; a custom plan
	// would estimate the selectivity of every condition on the list of
	// users element by element, which costs more than the generic plan's
	// index scans lose to it: about 2.5 ms for 1,000 users.
	n := len(q.Args)
	err = tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT
		(SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM (%s) m(id)),
		(SELECT COALESCE(array_agg(user_id ORDER BY user_id), '{}') FROM segment_members WHERE segment_id = $%d AND user_id = ANY($%d::bigint[]))`,
		q.SQL, n+1, n+2), append(q.Args, segmentID, pq.Array(users))...).Scan((*pq.Int64Array)(&next), (*pq.Int64Array)(&current))
	if err != nil {
		return nil, nil, err
	}
	return next, current, nil
}
