package segment_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// TestDefinitionHistoryCommitsWithTheSegment: a segment, its first version
// and its audit entry are written in one transaction: in a caller's that
// rolls back, none is left; in one that commits, all three are.
func TestDefinitionHistoryCommitsWithTheSegment(t *testing.T) {
	t.Parallel()
	client := database.NewClient(pgtest.DB(t))
	created, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	key := created.Admin.Key
	scoped := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleAdmin,
		KeyID: key.ID, KeyPrefix: key.Prefix})
	rule := &segment.Rule{LastSeen: &segment.LastSeenCondition{WithinDays: ptr(7)}}

	count := func() [3]int {
		segments, err := client.Segment.Query().Count(scoped)
		require.NoError(t, err)
		versions, err := client.SegmentVersion.Query().Count(scoped)
		require.NoError(t, err)
		entries, err := client.AuditEntry.Query().Count(scoped)
		require.NoError(t, err)
		return [3]int{segments, versions, entries}
	}
	for _, commit := range []bool{false, true} {
		ctx := audit.Begin(scoped, "createSegment", 0)
		tx, err := client.Tx(ctx)
		require.NoError(t, err)
		seg, err := segment.NewStore(tx.Client()).Create(ctx, segment.Definition{Name: "recent", Rule: rule})
		require.NoError(t, err)
		if !commit {
			require.NoError(t, tx.Rollback())
			require.Equal(t, [3]int{0, 0, 0}, count())
			continue
		}
		require.NoError(t, tx.Commit())
		require.Equal(t, [3]int{1, 1, 1}, count())
		v, err := client.SegmentVersion.Query().Only(scoped)
		require.NoError(t, err)
		require.Equal(t, seg.ID, v.SegmentID)
		require.Equal(t, 1, v.Version)
		require.Equal(t, key.ID, *v.KeyID)
		require.WithinDuration(t, seg.CreatedAt, v.CreatedAt, time.Microsecond, "in force from the creation")
		e, err := client.AuditEntry.Query().Only(scoped)
		require.NoError(t, err)
		require.Equal(t, seg.ID, *e.ObjectID)
	}
}

// TestDefinitionHistoryWithoutAMutation: Pulse's own writes (the demo, the
// CLI) version segments with no key and write no audit entry.
func TestDefinitionHistoryWithoutAMutation(t *testing.T) {
	t.Parallel()
	client := database.NewClient(pgtest.DB(t))
	created, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	ctx := tenant.ForProject(context.Background(), created.Project.ID)
	store := segment.NewStore(client)
	seg, err := store.Create(ctx, segment.Definition{Template: "DORMANT"})
	require.NoError(t, err)
	_, err = store.Update(ctx, seg.ID, segment.Change{Rule: &segment.Rule{LastSeen: &segment.LastSeenCondition{MoreThanDaysAgo: ptr(60)}}})
	require.NoError(t, err)

	q, err := store.Versions(ctx, seg.ID)
	require.NoError(t, err)
	versions, err := q.Order(ent.Asc("version")).All(ctx)
	require.NoError(t, err)
	require.Len(t, versions, 2)
	for i, v := range versions {
		require.Equal(t, i+1, v.Version)
		require.Nil(t, v.KeyID)
		require.Nil(t, v.KeyPrefix)
	}
	entries, err := client.AuditEntry.Query().Count(ctx)
	require.NoError(t, err)
	require.Zero(t, entries)
}
