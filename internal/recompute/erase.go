package recompute

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// LockSegments takes, in tx, what every run of the project's segments
// takes, so that an erasure (privacy) sees and writes their memberships as
// no run in flight can change them: the membership lock of every segment
// of the project, then its row lock (FOR NO KEY UPDATE, which conflicts
// with a run's write, a static change, an enqueue and a sweep, not with the
// key-share locks of foreign key checks), each in id order. It returns the
// project's segment ids, sorted.
//
// No run takes a second membership lock, nor any membership lock once it
// holds a segment's row, so taking them all in this order cannot deadlock
// with one; it waits for the runs in flight (a full recompute's evaluation
// included) to commit. The caller locks the users it erases only after
// this: a run holding a membership lock may be waiting for one of them
// (the key-share lock of users entering).
func LockSegments(ctx context.Context, tx *sql.Tx, projectID int) ([]int, error) {
	var ids pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM segments WHERE project_id = $1`,
		projectID).Scan(&ids); err != nil {
		return nil, fmt.Errorf("list the segments of project %d: %w", projectID, err)
	}
	// One statement takes them all, in id order (the order of the rows fed
	// to the aggregate): a round trip per segment would cost more than
	// the rest of a small erasure.
	if _, err := tx.ExecContext(ctx, `SELECT count(pg_advisory_xact_lock(`+membershipLockOf("id")+`))
		FROM (SELECT id FROM unnest($1::bigint[]) AS id ORDER BY id) s`, ids); err != nil {
		return nil, fmt.Errorf("lock the memberships of project %d: %w", projectID, err)
	}
	// A segment created since the list was read has no members and no
	// marks yet (its first run needs the user rows the caller locks next).
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM segments WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
		return nil, fmt.Errorf("lock the segments of project %d: %w", projectID, err)
	}
	segments := make([]int, len(ids))
	for i, id := range ids {
		segments[i] = int(id)
	}
	return segments, nil
}

// EraseMembers takes the users out of every segment they are members of,
// in tx, as one committed run per segment (trigger ERASURE): their current
// memberships end, the run counts them as exits, the segment's size drops
// by as many, and the run is numbered and announced like any other, so
// subscribers see the change. It does not mark dependent segments (the
// users are about to be deleted, and so are their marks). The caller holds
// the locks of LockSegments and the users' rows. It returns the ids of the
// runs it wrote.
func EraseMembers(ctx context.Context, tx *sql.Tx, projectID int, users []int64) ([]int, error) {
	bySegment, err := membersAmong(ctx, tx, users)
	if err != nil {
		return nil, err
	}
	runs := make([]int, 0, len(bySegment))
	for _, m := range bySegment {
		runID, err := eraseRun(ctx, tx, projectID, m.segmentID, m.users)
		if err != nil {
			return nil, err
		}
		runs = append(runs, runID)
	}
	return runs, nil
}

// segmentMembers are the members of one segment among some users.
type segmentMembers struct {
	segmentID int
	users     []int64
}

// membersAmong returns, per segment, those of users who are members now
// (segmentmember_user_id), in segment order.
func membersAmong(ctx context.Context, tx *sql.Tx, users []int64) ([]segmentMembers, error) {
	rows, err := tx.QueryContext(ctx, `SELECT segment_id, array_agg(user_id ORDER BY user_id) FROM segment_members
		WHERE user_id = ANY($1) GROUP BY segment_id ORDER BY segment_id`, pq.Array(users))
	if err != nil {
		return nil, fmt.Errorf("find the segments of erased users: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []segmentMembers
	for rows.Next() {
		var m segmentMembers
		var ids pq.Int64Array
		if err := rows.Scan(&m.segmentID, &ids); err != nil {
			return nil, fmt.Errorf("find the segments of erased users: %w", err)
		}
		m.users = ids
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find the segments of erased users: %w", err)
	}
	return out, nil
}

// eraseRun writes the run in which members leave the segment.
func eraseRun(ctx context.Context, tx *sql.Tx, projectID, segmentID int, members []int64) (int, error) {
	started := time.Now().UTC()
	var (
		runID int
		size  int
	)
	err := tx.QueryRowContext(ctx, `
		WITH run AS (
			INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, started_at, entered_count, exited_count)
			VALUES ($1, $2, 'ERASURE', 'RUNNING', $3, $3, 0, 0) RETURNING id
		) SELECT run.id, s.size FROM run, segments s WHERE s.id = $2`, projectID, segmentID, started).Scan(&runID, &size)
	if err != nil {
		return 0, fmt.Errorf("create erasure run of segment %d: %w", segmentID, err)
	}
	a := Args{SegmentID: segmentID, ProjectID: projectID, RunID: runID}
	if _, err := writeChanges(ctx, tx, a, nil, members, started); err != nil {
		return 0, err
	}
	res := result{Exited: len(members), Size: size - len(members), Duration: time.Since(started)}
	if err := finishPass(ctx, tx, a, res); err != nil {
		return 0, err
	}
	faultPoint(ctx, "erasure-written", a)
	return runID, nil
}

// DropMarks deletes the dirty marks of users in segments, in tx, and
// returns how many each user had. Only passes otherwise delete marks, by
// the addresses they read under the segment's membership lock: the caller
// holds the locks of LockSegments, so no pass holds marks it read.
func DropMarks(ctx context.Context, tx *sql.Tx, segments []int, users []int64) (map[int64]int, error) {
	ids := make([]int64, len(segments))
	for i, id := range segments {
		ids[i] = int64(id)
	}
	rows, err := tx.QueryContext(ctx, `
		WITH d AS (DELETE FROM segment_dirty_users WHERE segment_id = ANY($1) AND user_id = ANY($2) RETURNING user_id)
		SELECT user_id, count(*) FROM d GROUP BY 1`, pq.Array(ids), pq.Array(users))
	if err != nil {
		return nil, fmt.Errorf("drop the marks of erased users: %w", err)
	}
	defer func() { _ = rows.Close() }()
	dropped := map[int64]int{}
	for rows.Next() {
		var user int64
		var n int
		if err := rows.Scan(&user, &n); err != nil {
			return nil, fmt.Errorf("drop the marks of erased users: %w", err)
		}
		dropped[user] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("drop the marks of erased users: %w", err)
	}
	return dropped, nil
}
