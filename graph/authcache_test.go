package graph_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// TestAuthenticationQueryCount pins the statements a request spends on its
// key: one per request without the key cache, none after the first with it.
func TestAuthenticationQueryCount(t *testing.T) {
	t.Parallel()
	const query = `{ segments(first: 5) { totalCount } }`

	statements := func(listen bool) []int64 {
		keyStatements := &atomic.Int64{}
		drv := dialect.DebugWithContext(entsql.OpenDB(dialect.Postgres, pgtest.DB(t)),
			func(context.Context, ...any) { keyStatements.Add(1) })
		keys := auth.NewKeys(ent.NewClient(ent.Driver(drv)))
		if listen {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			require.NoError(t, keys.Listen(ctx, auth.ListenConfig{DSN: pgtest.DSN(t)}))
		}
		b := setupWith(t, graph.Options{Keys: keys})
		var used []int64
		for range 3 {
			before := b.queries.Load() + keyStatements.Load()
			var out struct{ Segments struct{ TotalCount int } }
			b.query(t, b.project.Read, query, nil, &out)
			used = append(used, b.queries.Load()+keyStatements.Load()-before)
		}
		return used
	}

	uncached, cached := statements(false), statements(true)
	t.Logf("SQL statements per request: %v without the key cache, %v with it", uncached, cached)
	require.Equal(t, uncached[0], cached[0], "the first request looks its key up")
	for i := 1; i < 3; i++ {
		require.Equal(t, uncached[i]-1, cached[i], "request %d runs no key query", i+1)
	}
}

// TestRevokeReachesOtherServer revokes a key through revokeAPIKey on one
// server while another serves it from its key cache: the other refuses it
// within a second.
func TestRevokeReachesOtherServer(t *testing.T) {
	t.Parallel()
	const query = `{ segments(first: 1) { totalCount } }`
	server := func() *testBundle {
		keys := auth.NewKeys(ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, pgtest.DB(t)))))
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		require.NoError(t, keys.Listen(ctx, auth.ListenConfig{DSN: pgtest.DSN(t)}))
		return setupWith(t, graph.Options{Keys: keys})
	}
	a, b := server(), server()
	spare, err := auth.NewKeys(a.client).Create(a.project.ctx, tenant.RoleRead, "spare")
	require.NoError(t, err)
	for _, s := range []*testBundle{a, b} {
		status, res, err := s.send(spare.Secret, query, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, res.Errors)
	}

	revokedAt := time.Now()
	var out struct{ RevokeAPIKey struct{ RevokedAt string } }
	a.query(t, a.project.Admin, `mutation($id: ID!) { revokeAPIKey(id: $id) { revokedAt } }`, map[string]any{"id": gid(spare.Key.ID)}, &out)
	require.NotEmpty(t, out.RevokeAPIKey.RevokedAt)
	require.Eventually(t, func() bool {
		status, _, err := b.send(spare.Secret, query, nil)
		require.NoError(t, err)
		return status == http.StatusUnauthorized
	}, time.Second-time.Since(revokedAt), 5*time.Millisecond, "the other server still accepts the revoked key")
}
