package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/live"
)

func TestSegmentStreamDeliversRunsInOrderWithTheirDelta(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg := b.staticSegment(t, b.projectID, 3)
	stream, _ := b.segmentStream(t, seg, nil)

	b.change(t, b.projectID, seg, false, "u0", "u1")
	b.change(t, b.projectID, seg, false, "u2")
	b.change(t, b.projectID, seg, true, "u0")

	first := next(t, stream)
	require.Equal(t, 1, first.Seq)
	require.Equal(t, 2, first.Size)
	require.Equal(t, 2, first.EnteredCount)
	require.ElementsMatch(t, []string{"u0", "u1"}, externalIDs(first.Entered))
	require.Empty(t, first.Exited)
	require.Equal(t, seg, first.Segment.ID)
	require.False(t, first.CommittedAt.IsZero())

	second := next(t, stream)
	require.Equal(t, 2, second.Seq)
	require.Equal(t, 3, second.Size)
	require.Equal(t, []string{"u2"}, externalIDs(second.Entered))

	third := next(t, stream)
	require.Equal(t, 3, third.Seq)
	require.Equal(t, 2, third.Size)
	require.Equal(t, 1, third.ExitedCount)
	require.Equal(t, []string{"u0"}, externalIDs(third.Exited))
	require.Empty(t, third.Entered)
}

func TestInlineUsersAreCappedAndCountsExact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg := b.staticSegment(t, b.projectID, live.InlineUsers+25)
	stream, _ := b.segmentStream(t, seg, nil)
	b.change(t, b.projectID, seg, false, ids(live.InlineUsers+25)...)
	c := next(t, stream)
	require.Equal(t, live.InlineUsers+25, c.EnteredCount)
	require.Len(t, c.Entered, live.InlineUsers)
	for i := 1; i < len(c.Entered); i++ {
		require.Less(t, c.Entered[i-1].ID, c.Entered[i].ID, "inline users are ordered by id")
	}
}

func TestAfterSeqReplaysThenContinuesLive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg := b.staticSegment(t, b.projectID, 5)
	for i := range 3 {
		b.change(t, b.projectID, seg, false, ids(5)[i])
	}
	after := 1
	stream, _ := b.segmentStream(t, seg, &after)
	require.Equal(t, 2, next(t, stream).Seq)
	require.Equal(t, 3, next(t, stream).Seq)
	b.change(t, b.projectID, seg, false, "u3")
	c := next(t, stream)
	require.Equal(t, 4, c.Seq)
	require.Equal(t, []string{"u3"}, externalIDs(c.Entered))
}

// Runs commit while the subscriber replays: every seq arrives exactly once,
// in order, across the hand-over from replay to live.
func TestAfterSeqHandOverHasNoGapNorDuplicate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const runs = 30
	seg := b.staticSegment(t, b.projectID, runs)
	for i := range 5 {
		b.change(t, b.projectID, seg, false, ids(runs)[i])
	}
	committing := make(chan error, 1)
	go func() {
		for i := 5; i < runs; i++ {
			if _, err := b.hubChange(seg, ids(runs)[i]); err != nil {
				committing <- err
				return
			}
		}
		committing <- nil
	}()
	after := 0
	stream, _ := b.segmentStream(t, seg, &after)
	for want := 1; want <= runs; want++ {
		require.Equal(t, want, next(t, stream).Seq)
	}
	require.NoError(t, <-committing)
}

func TestProjectStreamSeesOnlyItsProject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.newProject(t, t.Name()+" other")
	mine := b.staticSegment(t, b.projectID, 2)
	theirs := b.staticSegment(t, other, 2)
	stream := live.NewStream[*live.Change](b.hub.Buffer())
	sub, err := b.hub.SubscribeProject(context.Background(), b.projectID, stream)
	require.NoError(t, err)
	defer sub.Close()

	// The other project's run commits first: had it leaked, it would be
	// the first delivery.
	b.change(t, other, theirs, false, "u0")
	b.change(t, b.projectID, mine, false, "u1")
	c := next(t, stream)
	require.Equal(t, mine, c.Segment.ID)
	require.Equal(t, b.projectID, c.ProjectID)
	require.Equal(t, []string{"u1"}, externalIDs(c.Entered))
}

func TestSlowConsumerIsDroppedWithWhereToResume(t *testing.T) {
	t.Parallel()
	dropped := make(chan struct{}, 1)
	b := setupWith(t, live.Config{Buffer: 2, OnSlowConsumer: func() { dropped <- struct{}{} }})
	seg := b.staticSegment(t, b.projectID, 6)
	stream, _ := b.segmentStream(t, seg, nil)
	b.change(t, b.projectID, seg, false, "u0")
	require.Equal(t, 1, next(t, stream).Seq)

	// Not reading: two runs fill the buffer, the third overflows it.
	for i := 1; i <= 4; i++ {
		b.change(t, b.projectID, seg, false, ids(6)[i])
	}
	select {
	case <-dropped:
	case <-time.After(waitFor):
		t.Fatal("the slow subscriber was not dropped")
	}
	// What was queued is still delivered, then the stream ends, saying to
	// resume after the last of it.
	var got []int
	for c := range stream.C {
		got = append(got, c.Seq)
	}
	require.Equal(t, []int{2, 3}, got)
	var slow *live.SlowConsumerError
	require.ErrorAs(t, stream.Err(), &slow)
	require.ErrorIs(t, slow, live.ErrSlowConsumer)
	require.Equal(t, map[int]int{seg: 3}, slow.AfterSeq)
	require.Contains(t, slow.Error(), "resubscribe with afterSeq 3")
}

// A closed subscription hears nothing more, and its stream is not ended
// by the hub: the subscriber left on its own.
func TestClosedSubscriptionHearsNothingMore(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg := b.staticSegment(t, b.projectID, 2)
	closed, sub := b.segmentStream(t, seg, nil)
	open, _ := b.segmentStream(t, seg, nil)
	sub.Close()
	sub.Close()
	b.change(t, b.projectID, seg, false, "u0")
	require.Equal(t, 1, next(t, open).Seq)
	select {
	case c := <-closed.C:
		t.Fatalf("a closed subscription got seq %d", c.Seq)
	default:
	}
}
