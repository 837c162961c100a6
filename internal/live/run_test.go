package live_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/recompute"
)

// runStream subscribes a stream to a run.
func (b *bundle) runStream(t *testing.T, projectID, runID int) *live.Stream[*live.RunState] {
	t.Helper()
	stream := live.NewStream[*live.RunState](b.hub.Buffer())
	sub, err := b.hub.SubscribeRun(context.Background(), projectID, runID, stream)
	require.NoError(t, err)
	t.Cleanup(sub.Close)
	return stream
}

// dynamicRun creates a dynamic segment with rule and a PENDING run of it.
func (b *bundle) dynamicRun(t *testing.T, rule string) recompute.Args {
	t.Helper()
	a := recompute.Args{ProjectID: b.projectID}
	require.NoError(t, b.db.QueryRow(`
		INSERT INTO segments (project_id, name, kind, rule, created_at, updated_at) VALUES ($1, 'dynamic', 'DYNAMIC', $2, now(), now())
		RETURNING id`, b.projectID, rule).Scan(&a.SegmentID))
	require.NoError(t, b.db.QueryRow(`
		INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, entered_count, exited_count)
		VALUES ($1, $2, 'MANUAL', 'PENDING', now(), 0, 0) RETURNING id`, b.projectID, a.SegmentID).Scan(&a.RunID))
	return a
}

func TestRunStreamFollowsARunToCompletion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.staticSegment(t, b.projectID, 2)
	a := b.dynamicRun(t, `{"trait":{"key":"plan","op":"NOT_EXISTS"}}`)
	stream := b.runStream(t, b.projectID, a.RunID)
	require.Equal(t, segmentrun.StatusPENDING, next(t, stream).Run.Status)

	// Holding the segment's row lock parks the worker right after it
	// announced RUNNING, so that state is observed for certain.
	lock, err := b.db.Begin()
	require.NoError(t, err)
	_, err = lock.Exec(`SELECT 1 FROM segments WHERE id = $1 FOR UPDATE`, a.SegmentID)
	require.NoError(t, err)
	worked := make(chan error, 1)
	go func() { worked <- recompute.NewWorker(b.db).Recompute(context.Background(), a) }()
	running := next(t, stream)
	require.Equal(t, segmentrun.StatusRUNNING, running.Run.Status)
	require.False(t, running.Final)
	require.NoError(t, lock.Rollback())
	require.NoError(t, <-worked)
	done := next(t, stream)
	require.Equal(t, segmentrun.StatusCOMPLETED, done.Run.Status)
	require.True(t, done.Final)
	require.Equal(t, 2, *done.Run.SizeAfter)
	_, open := <-stream.C
	require.False(t, open, "the stream ends after the final state")
	require.NoError(t, stream.Err())
}

func TestRunStreamEndsOnTheLastFailedAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.dynamicRun(t, `[1]`) // a stored rule that does not decode
	stream := b.runStream(t, b.projectID, a.RunID)
	require.Equal(t, segmentrun.StatusPENDING, next(t, stream).Run.Status)

	job := &river.Job[recompute.Args]{JobRow: &rivertype.JobRow{Attempt: 5, MaxAttempts: 5}, Args: a}
	require.Error(t, recompute.NewWorker(b.db).Work(context.Background(), job))
	// Each state is read when its notification arrives, so a RUNNING that
	// was already over by then is delivered as what it became.
	failed := next(t, stream)
	if failed.Run.Status == segmentrun.StatusRUNNING {
		failed = next(t, stream)
	}
	require.Equal(t, segmentrun.StatusFAILED, failed.Run.Status)
	require.True(t, failed.Final)
	require.Contains(t, *failed.Run.Error, "decode rule")
	_, open := <-stream.C
	require.False(t, open)
}

func TestRunOfAnotherProjectIsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.dynamicRun(t, `{"trait":{"key":"plan","op":"EXISTS"}}`)
	other := b.newProject(t, t.Name()+" other")
	_, err := b.hub.SubscribeRun(context.Background(), other, a.RunID, live.NewStream[*live.RunState](1))
	require.True(t, ent.IsNotFound(err), "got %v", err)
}
