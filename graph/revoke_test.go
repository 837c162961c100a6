package graph_test

import (
	"context"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// A key revoked through revokeAPIKey stops working in its open live
// operations too, within a second: its sockets (either subprotocol) are
// closed with 4403 and its Server-Sent Events stream ends with an
// UNAUTHENTICATED error; another key's socket goes on.
func TestRevokedKeyEndsItsLiveOperations(t *testing.T) {
	t.Parallel()
	keys := auth.NewKeys(ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, pgtest.DB(t)))))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, keys.Listen(ctx, auth.ListenConfig{DSN: pgtest.DSN(t)}))
	b := setupLiveWith(t, live.Config{}, graph.Options{Keys: keys})
	seg := b.staticSegment(t, b.project, "k", 1)
	revoked, err := auth.NewKeys(b.client).Create(b.project.ctx, tenant.RoleRead, "revoked")
	require.NoError(t, err)
	kept, err := auth.NewKeys(b.client).Create(b.project.ctx, tenant.RoleRead, "kept")
	require.NoError(t, err)

	vars := map[string]any{"id": seg}
	current := dialLive(t, b.server.URL, revoked.Secret, "graphql-transport-ws")
	current.start(t, "1", membershipSubscription, vars)
	legacy := dialLive(t, b.server.URL, revoked.Secret, "graphql-ws")
	legacy.start(t, "1", membershipSubscription, vars)
	other := dialLive(t, b.server.URL, kept.Secret, "graphql-transport-ws")
	other.start(t, "1", membershipSubscription, vars)
	stream := openSSE(t, b.server.URL, revoked.Secret, membershipSubscription, vars)
	b.waitSubscribers(t, 4)
	require.Equal(t, 4, keys.Watched(), "the sockets and the stream are watched")

	revokedAt := time.Now()
	var out struct{ RevokeAPIKey struct{ RevokedAt string } }
	b.query(t, b.project.Admin, `mutation($id: ID!) { revokeAPIKey(id: $id) { revokedAt } }`, map[string]any{"id": gid(revoked.Key.ID)}, &out)
	require.NotEmpty(t, out.RevokeAPIKey.RevokedAt)

	code, reason := closeStatus(t, current)
	require.Equal(t, websocket.StatusCode(4403), code)
	require.Equal(t, "API key revoked", reason)
	msg := legacy.read(t)
	require.Equal(t, "connection_error", msg["type"])
	require.Equal(t, map[string]any{"message": "API key revoked"}, msg["payload"])
	code, reason = closeStatus(t, legacy)
	require.Equal(t, websocket.StatusCode(4403), code)
	require.Equal(t, "API key revoked", reason)
	res, ok := stream.next(t)
	require.True(t, ok, "the stream ended without an error")
	require.Equal(t, "UNAUTHENTICATED", res.code())
	require.Equal(t, "API key revoked", res.Errors[0].Message)
	_, ok = stream.next(t)
	require.False(t, ok, "the stream goes on")
	require.Less(t, time.Since(revokedAt), time.Second, "the revoked key's live operations outlived it")
	b.waitSubscribers(t, 1)
	require.Eventually(t, func() bool { return keys.Watched() == 1 }, 5*time.Second, 5*time.Millisecond, "the ended operations are still watched")

	b.members(t, b.project, seg, false, "k-0")
	var change struct{ SegmentMembershipChanged membershipChange }
	other.next(t, "1", &change)
	require.Equal(t, 1, change.SegmentMembershipChanged.Seq)
}
