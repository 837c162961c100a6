package auth_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// watchKey watches secret on p and returns a channel closed when the
// watch reports the key revoked, and the watch's stop.
func watchKey(t *testing.T, p *process, secret string) (<-chan struct{}, func()) {
	t.Helper()
	revoked := make(chan struct{})
	_, stop, err := p.keys.ScopeWatched(context.Background(), secret, func() { close(revoked) })
	require.NoError(t, err)
	return revoked, stop
}

// revokeRead revokes the project's read key through another process.
func revokeRead(t *testing.T, created *auth.NewProject) {
	t.Helper()
	other := newProcess(t, "other", false, 0)
	admin := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleAdmin, KeyID: created.Admin.Key.ID})
	_, err := other.keys.Revoke(admin, created.Read.Key.ID)
	require.NoError(t, err)
}

// A revocation heard by the listener ends the watches of that key only,
// within a second; a revoked key cannot be watched.
func TestRevocationEndsWatches(t *testing.T) {
	t.Parallel()
	_, created := setup(t)
	p := newProcess(t, "watch", true, 0)
	readRevoked, _ := watchKey(t, p, created.Read.Secret)
	ingestRevoked, stopIngest := watchKey(t, p, created.Ingest.Secret)
	stoppedRevoked, stop := watchKey(t, p, created.Read.Secret)
	stop()
	require.Equal(t, 2, p.keys.Watched())

	revokedAt := time.Now()
	revokeRead(t, created)
	select {
	case <-readRevoked:
		require.Less(t, time.Since(revokedAt), time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("the revocation did not end the read key's watch")
	}
	select {
	case <-ingestRevoked:
		t.Fatal("another key's watch ended")
	case <-stoppedRevoked:
		t.Fatal("a stopped watch was called")
	case <-time.After(100 * time.Millisecond):
	}
	require.Equal(t, 1, p.keys.Watched(), "an ended watch is forgotten")
	stopIngest()
	require.Zero(t, p.keys.Watched())

	_, _, err := p.keys.ScopeWatched(context.Background(), created.Read.Secret, func() { t.Error("called") })
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	require.Zero(t, p.keys.Watched(), "a refused key leaves no watch")
}

// A revocation sent while the listener is disconnected is lost with the
// connection: once it listens again, the watched keys are checked in the
// database and the revoked one's watch ends.
func TestRevocationDuringOutageEndsWatchesOnReconnect(t *testing.T) {
	t.Parallel()
	_, created := setup(t)
	u, err := url.Parse(pgtest.DSN(t))
	require.NoError(t, err)
	px := newProxy(t, u.Host)
	u.Host = px.addr
	p := newProcessListening(t, "outage-watch", u.String(), 0)
	readRevoked, _ := watchKey(t, p, created.Read.Secret)
	ingestRevoked, _ := watchKey(t, p, created.Ingest.Secret)

	px.cut()
	require.Eventually(t, func() bool { return p.keys.Cached() == 0 }, 5*time.Second, 5*time.Millisecond)
	revokeRead(t, created)
	select {
	case <-readRevoked:
		t.Fatal("heard a revocation while disconnected")
	case <-time.After(200 * time.Millisecond):
	}
	px.restore(t)
	select {
	case <-readRevoked:
	case <-time.After(15 * time.Second):
		t.Fatal("the revocation missed while disconnected never ended the watch")
	}
	select {
	case <-ingestRevoked:
		t.Fatal("a live key's watch ended")
	case <-time.After(100 * time.Millisecond):
	}
	require.Equal(t, 1, p.keys.Watched())
}
