package project_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/project"
	"github.com/pulse-analytics/pulse/internal/retention"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRetentionAndRuleNeverBothCommit: a retention and a segment whose
// rule reads all history, asked for at the same instant, never both
// succeed: one waits for the other's lock on the project and then sees it.
func TestRetentionAndRuleNeverBothCommit(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	inserter, err := jobs.NewClient(db, jobs.Config{})
	require.NoError(t, err)
	updater := project.NewUpdater(db, retention.NewEnqueuer(inserter.River))
	store := segment.NewStore(database.NewClient(db))
	rule, err := segment.Decode([]byte(`{"event":{"name":"export"}}`))
	require.NoError(t, err)
	days := 30
	outcomes := map[[2]bool]int{}
	for range 20 {
		created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
		require.NoError(t, err)
		ctx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleAdmin})
		var (
			wg                   sync.WaitGroup
			start                = make(chan struct{})
			retained, segmented  bool
			retainErr, createErr error
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, _, retainErr = updater.Update(ctx, created.Project.ID, project.Change{Retention: &project.Retention{Days: &days}})
			retained = retainErr == nil
		}()
		go func() {
			defer wg.Done()
			<-start
			_, createErr = store.Create(ctx, segment.Definition{Name: "all time", Rule: rule})
			segmented = createErr == nil
		}()
		close(start)
		wg.Wait()
		require.False(t, retained && segmented, "both committed")
		require.True(t, retained || segmented, "one of them must win: %v, %v", retainErr, createErr)
		outcomes[[2]bool{retained, segmented}]++
	}
	t.Logf("retention first: %d, segment first: %d", outcomes[[2]bool{true, false}], outcomes[[2]bool{false, true}])
}
