package live_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// Subscribers come and go, resume from random points and leave halfway,
// while runs of three segments commit: every stream still gets every run
// after its starting point exactly once, in order, and the hub ends with
// no subscriber left. Run it with -race: publishing, replays and
// unsubscribing all meet in the hub.
func TestHubUnderConcurrentPublishAndSubscribe(t *testing.T) {
	t.Parallel()
	var subscribers atomic.Int64
	b := setupWith(t, live.Config{OnSubscribers: func(delta int) { subscribers.Add(int64(delta)) }})
	const runs = 20
	segments := make([]int, 3)
	for i := range segments {
		segments[i] = b.staticSegment(t, b.projectID, runs)
	}
	// Followers subscribed before anything commits see every run.
	followers := make([]*live.Stream[*live.Change], len(segments))
	followerSubs := make([]*live.Subscription, len(segments))
	for i, seg := range segments {
		followers[i], followerSubs[i] = b.segmentStream(t, seg, nil)
	}
	all := live.NewStream[*live.Change](b.hub.Buffer())
	allSub, err := b.hub.SubscribeProject(context.Background(), b.projectID, all)
	require.NoError(t, err)

	errs := make(chan error, 64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range runs {
			for _, seg := range segments {
				if _, err := b.hubChange(seg, ids(runs)[i]); err != nil {
					errs <- err
					return
				}
			}
		}
	})
	for range 16 {
		wg.Go(func() {
			for range 5 {
				if err := resumeAndLeave(b, segments[rand.IntN(len(segments))], runs); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i, f := range followers {
		require.Equal(t, seqs(1, runs), readSeqs(t, f, runs), "segment %d", segments[i])
	}
	perSegment := map[int][]int{}
	for range runs * len(segments) {
		c := next(t, all)
		perSegment[c.Segment.ID] = append(perSegment[c.Segment.ID], c.Seq)
	}
	for _, seg := range segments {
		require.Equal(t, seqs(1, runs), perSegment[seg], "segmentsChanged, segment %d", seg)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	allSub.Close()
	for _, sub := range followerSubs {
		sub.Close()
	}
	require.Zero(t, subscribers.Load(), "every subscription is unregistered")
}

// Stop ends every subscription with ErrClosed, a replay in flight
// included (its reader never reads), and waits for it; the stopped hub
// takes no new subscriber.
func TestStopEndsSubscriptionsAndWaitsForReplays(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	hub := live.NewHub(db, database.NewClient(db), live.Config{DSN: pgtest.DSN(t)})
	require.NoError(t, hub.Start(context.Background()))
	b := &bundle{db: db, client: database.NewClient(db), hub: hub}
	b.projectID = b.newProject(t, t.Name())
	seg := b.staticSegment(t, b.projectID, 3)
	for i := range 3 {
		b.change(t, b.projectID, seg, false, ids(3)[i])
	}
	live1 := live.NewStream[*live.Change](4)
	_, err := hub.SubscribeSegment(context.Background(), b.projectID, seg, nil, live1)
	require.NoError(t, err)
	// A buffer of one: the replay of three runs waits in Send.
	stuck := live.NewStream[*live.Change](1)
	after := 0
	_, err = hub.SubscribeSegment(context.Background(), b.projectID, seg, &after, stuck)
	require.NoError(t, err)
	require.Equal(t, 1, next(t, stuck).Seq)

	hub.Stop()
	hub.Stop()
	for range live1.C {
	}
	require.ErrorIs(t, live1.Err(), live.ErrClosed)
	for range stuck.C {
	}
	require.ErrorIs(t, stuck.Err(), live.ErrClosed)
	_, err = hub.SubscribeSegment(context.Background(), b.projectID, seg, nil, live.NewStream[*live.Change](1))
	require.ErrorIs(t, err, live.ErrClosed)
	select {
	case <-hub.Stopped():
	default:
		t.Fatal("Stop returned before the hub stopped")
	}
}

// resumeAndLeave subscribes from a random seq, checks the runs it gets
// follow on from it one by one, and leaves after a few (or the last).
func resumeAndLeave(b *bundle, segmentID, runs int) error {
	after := rand.IntN(runs)
	leaveAfter := 1 + rand.IntN(6)
	stream := live.NewStream[*live.Change](b.hub.Buffer())
	sub, err := b.hub.SubscribeSegment(context.Background(), b.projectID, segmentID, &after, stream)
	if err != nil {
		return err
	}
	defer sub.Close()
	for want := after + 1; want <= min(runs, after+leaveAfter); want++ {
		select {
		case c, ok := <-stream.C:
			if !ok {
				return fmt.Errorf("stream of segment %d ended: %w", segmentID, stream.Err())
			}
			if c.Seq != want {
				return fmt.Errorf("segment %d after %d: got seq %d, want %d", segmentID, after, c.Seq, want)
			}
		case <-time.After(waitFor):
			return errors.New("no delivery in time")
		}
	}
	return nil
}

func readSeqs(t *testing.T, s *live.Stream[*live.Change], n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = next(t, s).Seq
	}
	return out
}

func seqs(from, to int) []int {
	out := []int{}
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}
