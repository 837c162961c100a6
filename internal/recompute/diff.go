package recompute

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/internal/dirty"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// result is what one run changed.
type result struct {
	Entered, Exited, Size int
	Duration              time.Duration
	// Drift, for a full recompute of a real-time segment, is how many
	// users it moved that the incremental path had not; nil otherwise.
	Drift *int
	// moved is who the run moved, for the webhooks of its commit.
	moved webhook.Run
}

// evaluate computes the members of a rule in tx. It is a plain SELECT, so
// it may get a parallel plan (a statement that writes, such as INSERT ...
// SELECT, never does), and the rule's scans are most of a recompute. The
// rule never reads the segment's own members (validation rejects cycles
// through inSegment).
func evaluate(ctx context.Context, tx *sql.Tx, q segment.Query) ([]int64, error) {
	// A rule aggregates per user over every user of the project; with the
	// default work_mem those aggregates spill to disk on large projects.
	// JIT compiling the rule's expressions, in the leader and again in each
	// parallel worker, costs more than it saves on a scan of this size
	// (measured with pulse bench segments).
	if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '128MB'; SET LOCAL jit = off`); err != nil {
		return nil, fmt.Errorf("tune evaluation: %w", err)
	}
	var ids pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(id), '{}') FROM (`+q.SQL+`) m(id)`, q.Args...).Scan(&ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// lockSegment takes the segment's row lock, so runs of one segment (and
// static membership changes) never interleave.
func lockSegment(ctx context.Context, tx *sql.Tx, segmentID int) error {
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM segments WHERE id = $1 FOR UPDATE`, segmentID); err != nil {
		return fmt.Errorf("lock segment %d: %w", segmentID, err)
	}
	return nil
}

// applyDiff makes the segment's current members exactly members, inside tx
// and under the segment's lock. The current members are read once (a range
// of segment_members_pkey) and both sets compared sorted, so the writes are
// only the changes, all in one set-wise statement: users who left get their
// current row removed and their open interval closed
// (segmentmembership_segment_id_user_id), users who entered get both
// opened. A run that changes nothing writes nothing.
//
// The membership tables have no foreign keys: a check per written row cost
// more than the rest of the write. One KEY SHARE lock of the entering users
// stands in for them, set-wise: a user deleted since the rule was evaluated
// does not enter, and one entering cannot be deleted (a merge locks the user
// it deletes FOR UPDATE) until this commits; the memberships of a user a
// merge deleted are closed as exits by the segment's next run.
func applyDiff(ctx context.Context, tx *sql.Tx, a Args, members []int64, at time.Time) (result, error) {
	current, err := currentMembers(ctx, tx, a.SegmentID)
	if err != nil {
		return result{}, err
	}
	return writeDiff(ctx, tx, a, members, current, at)
}

// currentMembers are the segment's members, sorted.
func currentMembers(ctx context.Context, tx *sql.Tx, segmentID int) ([]int64, error) {
	var current pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(user_id), '{}') FROM segment_members WHERE segment_id = $1`,
		segmentID).Scan(&current); err != nil {
		return nil, fmt.Errorf("current members of segment %d: %w", segmentID, err)
	}
	return sorted(current), nil
}

// writeDiff is applyDiff once the current members (sorted) are read.
func writeDiff(ctx context.Context, tx *sql.Tx, a Args, members, current []int64, at time.Time) (result, error) {
	entered, exited := diffSorted(sorted(members), current)
	res := result{Size: len(members), Exited: len(exited)}
	if len(entered) == 0 && len(exited) == 0 {
		return res, nil
	}
	var err error
	if res.Entered, err = writeChanges(ctx, tx, a, entered, exited, at); err != nil {
		return res, err
	}
	res.Size -= len(entered) - res.Entered
	res.moved = webhook.Run{At: at, Entered: entered, Exited: exited}
	if err := markDependents(ctx, tx, a, entered, exited); err != nil {
		return res, err
	}
	return res, nil
}

// writeChanges moves users into and out of the segment as of at, in tx under
// the segment's lock, in one set-wise statement, and returns how many
// entered (users of the project that still exist: see applyDiff).
func writeChanges(ctx context.Context, tx *sql.Tx, a Args, entered, exited []int64, at time.Time) (int, error) {
	var came int
	err := tx.QueryRowContext(ctx, `
		WITH gone AS (
			DELETE FROM segment_members WHERE segment_id = $1 AND user_id = ANY($4::bigint[])
		), closed AS (
			UPDATE segment_memberships SET exited_at = $2, exited_run_id = $3
			WHERE segment_id = $1 AND user_id = ANY($4::bigint[]) AND exited_at IS NULL
		), entered AS (
			SELECT id FROM users WHERE project_id = $6 AND id = ANY($5::bigint[]) FOR KEY SHARE
		), came AS (
			INSERT INTO segment_members (segment_id, user_id, entered_at) SELECT $1, id, $2 FROM entered
		), opened AS (
			INSERT INTO segment_memberships (project_id, segment_id, user_id, entered_at, entered_run_id)
			SELECT $6, $1, id, $2, $3 FROM entered
		)
		SELECT count(*) FROM entered`,
		a.SegmentID, at, a.RunID, pq.Array(exited), pq.Array(entered), a.ProjectID).Scan(&came)
	if err != nil {
		return 0, fmt.Errorf("write membership diff of segment %d: %w", a.SegmentID, err)
	}
	return came, nil
}

// markDependents marks the users a run moved dirty for the real-time
// segments whose rule reads this segment (inSegment), in the run's
// transaction, and queues their passes when running as a job. A segment
// nobody references costs one probe of the project's segments.
func markDependents(ctx context.Context, tx *sql.Tx, a Args, entered, exited []int64) error {
	key := dirty.Segment(a.SegmentID)
	var referenced bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM segments WHERE project_id = $1 AND realtime_sources ? $2 AND archived_at IS NULL)`,
		a.ProjectID, key).Scan(&referenced); err != nil {
		return fmt.Errorf("find the dependents of segment %d: %w", a.SegmentID, err)
	}
	if !referenced {
		return nil
	}
	var changes dirty.Changes
	changes.AddUsers(entered, key)
	changes.AddUsers(exited, key)
	marked, err := dirty.MarkReturning(ctx, tx, a.ProjectID, &changes)
	if err != nil {
		return err
	}
	return queuePasses(ctx, tx, a.ProjectID, marked)
}

// queuePasses queues the passes of segments in tx, when running as a job
// (outside one, the sweep dispatches them within its period).
func queuePasses(ctx context.Context, tx *sql.Tx, projectID int, segments []int) error {
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil || len(segments) == 0 {
		return nil //nolint:nilerr // not a job: the sweep dispatches the passes
	}
	params := make([]river.InsertManyParams, len(segments))
	for i, id := range segments {
		params[i] = river.InsertManyParams{Args: PassArgs{SegmentID: id, ProjectID: projectID}}
	}
	if _, err := client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("queue passes: %w", err)
	}
	return nil
}

func sorted(ids []int64) []int64 {
	slices.Sort(ids)
	return ids
}

// diffSorted returns the ids only in next (entered) and only in current
// (exited); both are sorted and without duplicates.
func diffSorted(next, current []int64) (entered, exited []int64) {
	i, j := 0, 0
	for i < len(next) && j < len(current) {
		switch {
		case next[i] < current[j]:
			entered = append(entered, next[i])
			i++
		case next[i] > current[j]:
			exited = append(exited, current[j])
			j++
		default:
			i++
			j++
		}
	}
	return append(entered, next[i:]...), append(exited, current[j:]...)
}

// finish completes the run with the next sequence number of its segment,
// updates the segment, and announces the run; all inside tx, so the
// announcement is delivered only if the run commits. A committed run is
// immutable: completing it twice is an error (the caller holds the
// segment's lock and checked it first).
func finish(ctx context.Context, tx *sql.Tx, a Args, res result) error {
	seq, err := completeRun(ctx, tx, a, res)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE segments SET status = 'READY', size = $2, last_computed_at = now(), last_error = NULL WHERE id = $1`,
		a.SegmentID, res.Size); err != nil {
		return fmt.Errorf("update segment %d: %w", a.SegmentID, err)
	}
	return announce(ctx, tx, a, seq)
}

// completeRun marks the run COMPLETED with what it changed and the next
// sequence number of its segment, writes the webhooks of its changes, and
// returns that number.
func completeRun(ctx context.Context, tx *sql.Tx, a Args, res result) (int, error) {
	var seq int
	err := tx.QueryRowContext(ctx, `
		UPDATE segment_runs SET status = 'COMPLETED', finished_at = now(), error = NULL,
			entered_count = $2, exited_count = $3, size_after = $4, duration_ms = $5, drift = $7,
			seq = (SELECT COALESCE(max(seq), 0) + 1 FROM segment_runs WHERE segment_id = $6)
		WHERE id = $1 AND status <> 'COMPLETED' RETURNING seq`,
		a.RunID, res.Entered, res.Exited, res.Size, res.Duration.Milliseconds(), a.SegmentID, res.Drift).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("complete run %d: %w", a.RunID, err)
	}
	run := res.moved
	run.ProjectID, run.SegmentID, run.RunID, run.Seq = a.ProjectID, a.SegmentID, a.RunID, seq
	return seq, webhook.EnqueueRun(ctx, tx, run)
}

// announce notifies the run's commit, inside tx.
func announce(ctx context.Context, tx *sql.Tx, a Args, seq int) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, notification(a, "COMPLETED", seq, false)); err != nil {
		return fmt.Errorf("announce run %d: %w", a.RunID, err)
	}
	return nil
}

// finishPass completes the run of an incremental pass like finish, but
// only the segment's size moves: its status and last computation stay
// those of its full recomputes, which the scheduler keeps to their
// interval.
func finishPass(ctx context.Context, tx *sql.Tx, a Args, res result) error {
	seq, err := completeRun(ctx, tx, a, res)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segments SET size = $2 WHERE id = $1`, a.SegmentID, res.Size); err != nil {
		return fmt.Errorf("update segment %d: %w", a.SegmentID, err)
	}
	return announce(ctx, tx, a, seq)
}
