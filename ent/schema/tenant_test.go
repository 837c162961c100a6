package schema_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func setup(t *testing.T) (*ent.Client, context.Context, context.Context) {
	t.Helper()
	client := database.NewClient(pgtest.DB(t))
	ctx := tenant.Bypass(context.Background())
	a, err := client.Project.Create().SetName("a").Save(ctx)
	require.NoError(t, err)
	b, err := client.Project.Create().SetName("b").Save(ctx)
	require.NoError(t, err)
	return client, tenant.ForProject(context.Background(), a.ID), tenant.ForProject(context.Background(), b.ID)
}

// TestTenantScoping checks the guard under every query and mutation: it
// holds even for code that forgets to filter by project.
func TestTenantScoping(t *testing.T) {
	t.Parallel()
	client, ctxA, ctxB := setup(t)
	segA, err := client.Segment.Create().SetName("mine").Save(ctxA)
	require.NoError(t, err)
	segB, err := client.Segment.Create().SetName("theirs").Save(ctxB)
	require.NoError(t, err)
	scopeA, _ := tenant.FromContext(ctxA)
	require.Equal(t, scopeA.ProjectID, segA.ProjectID, "project_id comes from the context")

	t.Run("queries see one project", func(t *testing.T) {
		t.Parallel()
		names, err := client.Segment.Query().Select(segment.FieldName).Strings(ctxA)
		require.NoError(t, err)
		require.Equal(t, []string{"mine"}, names)
		_, err = client.Segment.Get(ctxA, segB.ID)
		require.True(t, ent.IsNotFound(err))
		projects, err := client.Project.Query().All(ctxA)
		require.NoError(t, err)
		require.Len(t, projects, 1)
	})
	t.Run("updates and deletes cannot reach another project", func(t *testing.T) {
		t.Parallel()
		err := client.Segment.UpdateOneID(segB.ID).SetName("hijacked").Exec(ctxA)
		require.True(t, ent.IsNotFound(err), "got %v", err)
		require.NoError(t, client.Segment.Update().SetDescription("bulk").Exec(ctxA))
		deleted, err := client.Segment.Delete().Where(segment.ID(segB.ID)).Exec(ctxA)
		require.NoError(t, err)
		require.Zero(t, deleted)
		still, err := client.Segment.Get(ctxB, segB.ID)
		require.NoError(t, err)
		require.Equal(t, "theirs", still.Name)
		require.Empty(t, still.Description)
	})
	t.Run("no scope fails closed", func(t *testing.T) {
		t.Parallel()
		_, err := client.Segment.Query().All(context.Background())
		require.ErrorIs(t, err, tenant.ErrNoTenant)
		_, err = client.Segment.Create().SetName("orphan").Save(context.Background())
		require.ErrorIs(t, err, tenant.ErrNoTenant)
		_, err = client.Project.Query().All(context.Background())
		require.ErrorIs(t, err, tenant.ErrNoTenant)
	})
	t.Run("a scoped caller cannot create or delete projects", func(t *testing.T) {
		t.Parallel()
		_, err := client.Project.Create().SetName("new").Save(ctxA)
		require.ErrorContains(t, err, "only an operator may")
		scopeB, _ := tenant.FromContext(ctxB)
		err = client.Project.UpdateOneID(scopeB.ProjectID).SetName("renamed").Exec(ctxA)
		require.True(t, ent.IsNotFound(err))
	})
}
