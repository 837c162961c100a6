package discovery_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/discoveryrun"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// One River client, built as every Pulse process builds it (so the
// discovery worker is the one registered there), works every test's jobs.
var (
	clientOnce sync.Once
	client     *river.Client[*sql.Tx]
	clientErr  error
)

func riverClient(t *testing.T) *river.Client[*sql.Tx] {
	t.Helper()
	clientOnce.Do(func() {
		var c *jobs.Client
		c, clientErr = jobs.NewClient(pgtest.DB(t), jobs.Config{Work: true, PollInterval: 20 * time.Millisecond, SchedulePeriod: -1, ReconcilePeriod: -1})
		if clientErr == nil {
			client, clientErr = c.River, c.Start(context.Background())
		}
	})
	require.NoError(t, clientErr)
	return client
}

// jobBundle is a project, an Enqueuer on the working client and the job
// events of that client.
type jobBundle struct {
	*project
	enqueuer *discovery.Enqueuer
	events   <-chan *river.Event
}

func setupJobs(t *testing.T) *jobBundle {
	t.Helper()
	c := riverClient(t)
	events, cancel := c.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	t.Cleanup(cancel)
	return &jobBundle{project: newProject(t), enqueuer: discovery.NewEnqueuer(pgtest.DB(t), c), events: events}
}

// wait blocks until the job of run runID reports kind.
func (b *jobBundle) wait(t *testing.T, runID int, kind river.EventKind) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev := <-b.events:
			if ev.Job.Kind != (discovery.Args{}).Kind() {
				continue
			}
			var args discovery.Args
			require.NoError(t, json.Unmarshal(ev.Job.EncodedArgs, &args))
			if args.RunID == runID {
				require.Equal(t, kind, ev.Kind, "job of run %d", runID)
				return
			}
		case <-timeout:
			t.Fatalf("run %d: no %s event", runID, kind)
		}
	}
}

func (b *jobBundle) run(t *testing.T, id int) *ent.DiscoveryRun {
	t.Helper()
	run, err := b.client.DiscoveryRun.Get(tenant.ForProject(context.Background(), b.id), id)
	require.NoError(t, err)
	return run
}

func TestDiscoveryJobEndToEnd(t *testing.T) {
	t.Parallel()
	b := setupJobs(t)
	groups := b.plant(t, time.Now().Add(-time.Hour), plantedGroups())

	three := 3
	first, err := b.enqueuer.Enqueue(b.ctx, b.id, discovery.Request{K: &three, WithinDays: 28, Seed: 11})
	require.NoError(t, err)
	queued := b.run(t, first)
	// The worker may take the job before this read: the run is PENDING only
	// until then.
	require.Contains(t, []discoveryrun.Status{discoveryrun.StatusPENDING, discoveryrun.StatusRUNNING, discoveryrun.StatusCOMPLETED},
		queued.Status)
	require.NotNil(t, queued.JobID)
	require.Equal(t, 3, *queued.RequestedK)
	b.wait(t, first, river.EventKindJobCompleted)

	done := b.run(t, first)
	require.Equal(t, discoveryrun.StatusCOMPLETED, done.Status)
	require.Nil(t, done.Error)
	require.NotNil(t, done.StartedAt)
	require.NotNil(t, done.FinishedAt)
	require.Equal(t, 3, *done.K)
	require.Equal(t, 90, *done.Users)
	require.Nil(t, done.KScores)
	require.Len(t, done.Clusters, 3)
	require.Len(t, done.Members, 3)
	for i, members := range done.Members {
		require.ElementsMatch(t, groups[i], members)
		require.Equal(t, len(members), done.Clusters[i].Size)
		require.Greater(t, done.Clusters[i].Recall, 0.9)
		require.Greater(t, done.Clusters[i].Precision, 0.9)
	}

	// Same data, same seed: the same clusters, rules and members.
	second, err := b.enqueuer.Enqueue(b.ctx, b.id, discovery.Request{K: &three, WithinDays: 28, Seed: 11})
	require.NoError(t, err)
	b.wait(t, second, river.EventKindJobCompleted)
	again := b.run(t, second)
	// Recency is measured from when each job ran; everything else is equal.
	for i := range again.Clusters {
		require.InDelta(t, done.Clusters[i].Centre.RecencyDays, again.Clusters[i].Centre.RecencyDays, 0.01)
		again.Clusters[i].Centre.RecencyDays = done.Clusters[i].Centre.RecencyDays
	}
	require.Equal(t, done.Clusters, again.Clusters)
	require.Equal(t, done.Members, again.Members)
	require.Equal(t, *done.Silhouette, *again.Silhouette)

	// Without k, the silhouette chooses it and every score is kept.
	auto, err := b.enqueuer.Enqueue(b.ctx, b.id, discovery.Request{WithinDays: 28, Seed: 11})
	require.NoError(t, err)
	b.wait(t, auto, river.EventKindJobCompleted)
	chosen := b.run(t, auto)
	require.Nil(t, chosen.RequestedK)
	require.Equal(t, 3, *chosen.K)
	require.Len(t, chosen.KScores, discovery.MaxK-discovery.MinK+1)
}

func TestDiscoveryJobWithTooFewUsersFails(t *testing.T) {
	t.Parallel()
	b := setupJobs(t)
	groups := plantedGroups()
	groups[0].users = 3
	b.plant(t, time.Now().Add(-time.Hour), groups[:1])
	five := 5
	id, err := b.enqueuer.Enqueue(b.ctx, b.id, discovery.Request{K: &five, WithinDays: 28, Seed: 1})
	require.NoError(t, err)
	// Running again on the same data cannot help: the job is cancelled, not retried.
	b.wait(t, id, river.EventKindJobCancelled)
	run := b.run(t, id)
	require.Equal(t, discoveryrun.StatusFAILED, run.Status)
	require.Contains(t, *run.Error, "3 users were active in the last 28 days; clustering needs at least 6")
	require.Empty(t, run.Clusters)
}

func TestEnqueueValidation(t *testing.T) {
	t.Parallel()
	b := setupJobs(t)
	one, big := 1, discovery.MaxRequestedK+1
	tests := []struct {
		name  string
		req   discovery.Request
		field string
	}{
		{"no window", discovery.Request{WithinDays: 0}, "withinDays"},
		{"window too long", discovery.Request{WithinDays: discovery.MaxWindowDays + 1}, "withinDays"},
		{"one cluster", discovery.Request{K: &one, WithinDays: 7}, "k"},
		{"too many clusters", discovery.Request{K: &big, WithinDays: 7}, "k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.enqueuer.Enqueue(b.ctx, b.id, tt.req)
			var inputErr *invalid.Error
			require.ErrorAs(t, err, &inputErr, "error %v", err)
			require.Equal(t, tt.field, inputErr.Field)
		})
	}
	t.Cleanup(func() {
		n, err := b.client.DiscoveryRun.Query().Count(tenant.ForProject(context.Background(), b.id))
		require.NoError(t, err)
		require.Zero(t, n)
	})
}
