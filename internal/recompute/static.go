package recompute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// MaxStaticChange bounds the external ids of one static membership change.
const MaxStaticChange = 10_000

// ChangeStatic adds (or, with remove, removes) users to a STATIC segment by
// external id, as one committed run: intervals, counts, sequence number and
// notification as for a recompute. It returns the run id.
func ChangeStatic(ctx context.Context, db *sql.DB, projectID, segmentID int, externalIDs []string, remove bool) (int, error) {
	if len(externalIDs) == 0 || len(externalIDs) > MaxStaticChange {
		return 0, invalid.Field("externalIds", "give between 1 and %d external ids", MaxStaticChange)
	}
	return staticRun(ctx, db, projectID, segmentID, func(tx *sql.Tx, current []int64) ([]int64, error) {
		userIDs, err := usersByExternalID(ctx, tx, projectID, externalIDs)
		if err != nil {
			return nil, err
		}
		before := len(current)
		var members []int64
		if remove {
			slices.Sort(userIDs)
			members = slices.DeleteFunc(current, func(id int64) bool {
				_, found := slices.BinarySearch(userIDs, id)
				return found
			})
		} else {
			members = union(current, userIDs)
		}
		// Sizes, never the ids: the audit log must name no end user.
		err = audit.Record(ctx, tx, segmentID, map[string]any{"size": before},
			map[string]any{"size": len(members), "requested": len(externalIDs)})
		return members, err
	})
}

// AddStaticUsers adds users by id to a STATIC segment, as one committed run
// like ChangeStatic. It is for lists Pulse made itself (a discovered
// cluster), so it has no size limit and takes users without an external
// id; ids that are not users of the project are ignored (the diff enters
// only users of the project).
func AddStaticUsers(ctx context.Context, db *sql.DB, projectID, segmentID int, userIDs []int64) (int, error) {
	return staticRun(ctx, db, projectID, segmentID, func(_ *sql.Tx, current []int64) ([]int64, error) {
		return union(current, userIDs), nil
	})
}

// union is the ids of both, sorted, each once.
func union(a, b []int64) []int64 {
	ids := slices.Concat(a, b)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// staticRun locks a STATIC segment of the project and makes the users that
// target returns, given the current members (sorted; in the same
// transaction), its members, as one run.
func staticRun(ctx context.Context, db *sql.DB, projectID, segmentID int, target func(tx *sql.Tx, current []int64) ([]int64, error)) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var kind string
	err = tx.QueryRowContext(ctx, `SELECT kind FROM segments WHERE id = $1 AND project_id = $2 AND archived_at IS NULL FOR UPDATE`,
		segmentID, projectID).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &invalid.Error{Field: "id", Message: fmt.Sprintf("segment %d not found or archived", segmentID), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return 0, fmt.Errorf("load segment %d: %w", segmentID, err)
	}
	if kind != "STATIC" {
		return 0, invalid.Field("id", "segment %d is DYNAMIC: its rule decides its members", segmentID)
	}
	var runID int
	if err := tx.QueryRowContext(ctx, `
		INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, started_at, entered_count, exited_count)
		VALUES ($1, $2, 'MANUAL', 'RUNNING', now(), now(), 0, 0) RETURNING id`, projectID, segmentID).Scan(&runID); err != nil {
		return 0, fmt.Errorf("create run: %w", err)
	}
	a := Args{SegmentID: segmentID, ProjectID: projectID, RunID: runID}
	started := time.Now()
	// The segment row is locked (FOR UPDATE above): the members read here
	// are the ones the diff is written against.
	current, err := currentMembers(ctx, tx, segmentID)
	if err != nil {
		return 0, err
	}
	members, err := target(tx, slices.Clone(current))
	if err != nil {
		return 0, err
	}
	res, err := writeDiff(ctx, tx, a, members, current, time.Now().UTC())
	if err != nil {
		return 0, err
	}
	res.Duration = time.Since(started)
	if err := finish(ctx, tx, a, res); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return runID, nil
}

// usersByExternalID resolves external ids of the project; unknown ones are
// an input error naming them.
func usersByExternalID(ctx context.Context, tx *sql.Tx, projectID int, externalIDs []string) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT u.id, u.external_id FROM unnest($2::text[]) AS x,
		LATERAL (SELECT id, external_id FROM users WHERE project_id = $1 AND external_id = x LIMIT 1) u`,
		projectID, pq.Array(externalIDs))
	if err != nil {
		return nil, fmt.Errorf("resolve users: %w", err)
	}
	defer rows.Close()
	found := map[string]bool{}
	var ids []int64
	for rows.Next() {
		var id int64
		var ext string
		if err := rows.Scan(&id, &ext); err != nil {
			return nil, fmt.Errorf("resolve users: %w", err)
		}
		found[ext] = true
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("resolve users: %w", err)
	}
	var unknown []string
	for _, ext := range externalIDs {
		if !found[ext] {
			unknown = append(unknown, ext)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		if len(unknown) > 5 {
			unknown = append(unknown[:5], "…")
		}
		return nil, invalid.Field("externalIds", "no users with external ids %q in this project", unknown)
	}
	return ids, nil
}
