package live

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/segmentmembership"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// replayPage bounds how many runs one replay query loads, so a subscriber
// resuming from far back is fed page by page.
const replayPage = 50

// loader reads committed runs, their deltas and run states. Every read is
// scoped to the run's project by the tenant interceptors.
type loader struct {
	db     *sql.DB
	client *ent.Client
}

// EnteredUsers and ExitedUsers select the users a run moved in or out of
// its segment; run.entered / run.exited page through them by user id.
func EnteredUsers(runID int) func(*ent.UserQuery) *ent.UserQuery {
	return func(q *ent.UserQuery) *ent.UserQuery {
		return q.Where(user.HasMembershipsWith(segmentmembership.EnteredRunID(runID)))
	}
}

// ExitedUsers is EnteredUsers for the users who left.
func ExitedUsers(runID int) func(*ent.UserQuery) *ent.UserQuery {
	return func(q *ent.UserQuery) *ent.UserQuery {
		return q.Where(user.HasMembershipsWith(segmentmembership.ExitedRunID(runID)))
	}
}

// changes loads the committed runs of a segment with afterSeq < seq <=
// uptoSeq (uptoSeq 0: no upper bound), at most replayPage of them, in seq
// order, each with its inline delta.
func (l loader) changes(ctx context.Context, projectID, segmentID, afterSeq, uptoSeq int) ([]*Change, error) {
	ctx = tenant.ForProject(ctx, projectID)
	q := l.client.SegmentRun.Query().
		Where(segmentrun.SegmentID(segmentID), segmentrun.SeqGT(afterSeq))
	if uptoSeq > 0 {
		q = q.Where(segmentrun.SeqLTE(uptoSeq))
	}
	runs, err := q.Order(ent.Asc(segmentrun.FieldSeq)).Limit(replayPage).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load runs of segment %d after seq %d: %w", segmentID, afterSeq, err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	seg, err := l.client.Segment.Get(ctx, segmentID)
	if err != nil {
		return nil, fmt.Errorf("load segment %d: %w", segmentID, err)
	}
	out := make([]*Change, 0, len(runs))
	for _, run := range runs {
		c, err := l.delta(ctx, projectID, seg, run)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (l loader) delta(ctx context.Context, projectID int, seg *ent.Segment, run *ent.SegmentRun) (*Change, error) {
	c := &Change{
		ProjectID: projectID, Segment: seg, Run: run,
		EnteredCount: run.EnteredCount, ExitedCount: run.ExitedCount,
	}
	if run.Seq != nil {
		c.Seq = *run.Seq
	}
	if run.SizeAfter != nil {
		c.Size = *run.SizeAfter
	}
	if run.FinishedAt != nil {
		c.CommittedAt = *run.FinishedAt
	}
	var err error
	if run.EnteredCount > 0 {
		if c.Entered, err = l.users(ctx, EnteredUsers(run.ID)); err != nil {
			return nil, fmt.Errorf("load users who entered in run %d: %w", run.ID, err)
		}
	}
	if run.ExitedCount > 0 {
		if c.Exited, err = l.users(ctx, ExitedUsers(run.ID)); err != nil {
			return nil, fmt.Errorf("load users who left in run %d: %w", run.ID, err)
		}
	}
	return c, nil
}

func (l loader) users(ctx context.Context, side func(*ent.UserQuery) *ent.UserQuery) ([]*ent.User, error) {
	return side(l.client.User.Query()).Order(ent.Asc(user.FieldID)).Limit(InlineUsers).All(ctx)
}

// latestRun is the latest committed run of a segment.
type latestRun struct{ projectID, segmentID, seq int }

// latestRuns returns the latest committed run of every segment of the
// projects that has one.
func (l loader) latestRuns(ctx context.Context, projectIDs []int) ([]latestRun, error) {
	rows, err := l.db.QueryContext(ctx, `
		SELECT project_id, segment_id, max(seq) FROM segment_runs
		WHERE project_id = ANY($1) AND seq IS NOT NULL GROUP BY project_id, segment_id`, intArray(projectIDs))
	if err != nil {
		return nil, fmt.Errorf("load latest runs: %w", err)
	}
	defer rows.Close()
	var latest []latestRun
	for rows.Next() {
		var r latestRun
		if err := rows.Scan(&r.projectID, &r.segmentID, &r.seq); err != nil {
			return nil, fmt.Errorf("load latest runs: %w", err)
		}
		latest = append(latest, r)
	}
	return latest, rows.Err()
}

// lastSeqs returns the seq of the latest committed run of each segment of
// the project that has one.
func (l loader) lastSeqs(ctx context.Context, projectID int) (map[int]int, error) {
	latest, err := l.latestRuns(ctx, []int{projectID})
	if err != nil {
		return nil, err
	}
	last := make(map[int]int, len(latest))
	for _, r := range latest {
		last[r.segmentID] = r.seq
	}
	return last, nil
}

func intArray(ids []int) any {
	a := make([]int64, len(ids))
	for i, id := range ids {
		a[i] = int64(id)
	}
	return pq.Array(a)
}

// runState reads a run. final is what the notification said; when the run
// is read without one (a new subscriber), a failure is final once its River
// job has no attempt left.
func (l loader) runState(ctx context.Context, projectID, runID int, final *bool) (*RunState, error) {
	run, err := l.client.SegmentRun.Get(tenant.ForProject(ctx, projectID), runID)
	if err != nil {
		return nil, fmt.Errorf("load run %d: %w", runID, err)
	}
	st := &RunState{Run: run, Final: run.Status == segmentrun.StatusCOMPLETED}
	if run.Status != segmentrun.StatusFAILED {
		return st, nil
	}
	if final != nil {
		st.Final = *final
		return st, nil
	}
	if run.JobID == nil {
		st.Final = true
		return st, nil
	}
	err = l.db.QueryRowContext(ctx, `
		SELECT COALESCE((SELECT attempt >= max_attempts OR state IN ('discarded', 'cancelled', 'completed')
		FROM river_job WHERE id = $1), true)`, *run.JobID).Scan(&st.Final)
	if err != nil {
		return nil, fmt.Errorf("load job of run %d: %w", runID, err)
	}
	return st, nil
}
