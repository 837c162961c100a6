package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// process is one server's view of the keys: its own pool, its own key
// cache and revocation listener, and a count of the statements it runs.
type process struct {
	keys       *auth.Keys
	statements *atomic.Int64
	appName    string
}

// newProcess opens a process over the test database; listen turns its key
// cache on.
func newProcess(t *testing.T, name string, listen bool, maxKeys int) *process {
	t.Helper()
	listenDSN := ""
	if listen {
		listenDSN = pgtest.DSN(t)
	}
	return newProcessListening(t, name, listenDSN, maxKeys)
}

// newProcessListening is newProcess with the listener connecting to
// listenDSN (none if empty).
func newProcessListening(t *testing.T, name, listenDSN string, maxKeys int) *process {
	t.Helper()
	db, err := database.Open(context.Background(), pgtest.DSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	statements := &atomic.Int64{}
	drv := dialect.DebugWithContext(entsql.OpenDB(dialect.Postgres, db), func(context.Context, ...any) { statements.Add(1) })
	p := &process{keys: auth.NewKeys(ent.NewClient(ent.Driver(drv))), statements: statements}
	if listenDSN != "" {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		p.appName = fmt.Sprintf("auth_test_%s_%d", name, time.Now().UnixNano())
		require.NoError(t, p.keys.Listen(ctx, auth.ListenConfig{DSN: listenDSN, MaxKeys: maxKeys, ApplicationName: p.appName}))
	}
	return p
}

// authenticate returns the statements one authentication of secret ran.
func (p *process) authenticate(t *testing.T, secret string) (int64, error) {
	t.Helper()
	before := p.statements.Load()
	_, err := p.keys.Authenticate(context.Background(), secret)
	return p.statements.Load() - before, err
}

// requireLookedUpThenCached authenticates secret (wantErr: nil for a key,
// auth.ErrUnauthenticated for an unknown one) until a request runs no
// query: the first looks it up, the next is answered from memory. A
// lookup that a revocation of another test's key (tests run alongside)
// raced is not cached, so it may take a few lookups, each of one query.
func (p *process) requireLookedUpThenCached(t *testing.T, secret string, wantErr error) {
	t.Helper()
	for i := 0; ; i++ {
		n, err := p.authenticate(t, secret)
		if wantErr == nil {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, wantErr)
		}
		if i == 0 {
			require.Equal(t, int64(1), n, "the first request looks the key up")
			continue
		}
		if n == 0 {
			return
		}
		require.Equal(t, int64(1), n, "a lookup is one query")
		require.Less(t, i, 20, "the key is never cached")
	}
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "pk_read_" + base64.RawURLEncoding.EncodeToString(b)
}

func TestCachedKeyRunsNoQuery(t *testing.T) {
	t.Parallel()
	_, created := setup(t)

	uncached := newProcess(t, "uncached", false, 0)
	for range 2 {
		n, err := uncached.authenticate(t, created.Read.Secret)
		require.NoError(t, err)
		require.Equal(t, int64(1), n, "without a listener every request looks its key up")
	}

	p := newProcess(t, "cached", true, 0)
	p.requireLookedUpThenCached(t, created.Read.Secret, nil)
	unknown := randomSecret(t)
	p.requireLookedUpThenCached(t, unknown, auth.ErrUnauthenticated)
	var (
		n   int64
		err error
	)
	for _, garbage := range []string{"", "pk_read_nope", created.Read.Secret + "x", strings.ToUpper(created.Read.Secret),
		"pk_read_" + strings.Repeat("!", 43), "pk_root_" + created.Read.Secret[len("pk_read_"):]} {
		n, err = p.authenticate(t, garbage)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, garbage)
		require.Equal(t, int64(0), n, "a secret that cannot be a key costs no query: %q", garbage)
	}
}

// TestRevocationReachesEveryProcess revokes a key in one process while
// another serves it from its cache: both refuse it within a second.
func TestRevocationReachesEveryProcess(t *testing.T) {
	t.Parallel()
	_, created := setup(t)
	a, b := newProcess(t, "a", true, 0), newProcess(t, "b", true, 0)
	for _, p := range []*process{a, b} {
		_, err := p.authenticate(t, created.Read.Secret)
		require.NoError(t, err)
		n, err := p.authenticate(t, created.Read.Secret)
		require.NoError(t, err)
		require.Equal(t, int64(0), n, "served from the cache")
	}

	admin := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleAdmin, KeyID: created.Admin.Key.ID})
	revokedAt := time.Now()
	_, err := a.keys.Revoke(admin, created.Read.Key.ID)
	require.NoError(t, err)

	for name, p := range map[string]*process{"revoking process": a, "other process": b} {
		require.Eventually(t, func() bool {
			_, err := p.keys.Authenticate(context.Background(), created.Read.Secret)
			return err != nil
		}, time.Second-time.Since(revokedAt), 5*time.Millisecond, "%s still accepts the revoked key", name)
		_, err := p.keys.Authenticate(context.Background(), created.Read.Secret)
		require.ErrorIs(t, err, auth.ErrUnauthenticated)
	}
	_, err = b.keys.Authenticate(context.Background(), created.Ingest.Secret)
	require.NoError(t, err, "other keys keep working")
}

func TestListenerDropClearsCache(t *testing.T) {
	t.Parallel()
	client, created := setup(t)
	p := newProcess(t, "drop", true, 0)
	// Not cached when a revocation of another test's key arrived meanwhile.
	require.Eventually(t, func() bool {
		_, err := p.keys.Authenticate(context.Background(), created.Read.Secret)
		return err == nil && p.keys.Cached() == 1
	}, 5*time.Second, 5*time.Millisecond)

	var terminated int
	rows, err := client.QueryContext(context.Background(),
		`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t`, p.appName)
	require.NoError(t, err)
	require.True(t, rows.Next())
	require.NoError(t, rows.Scan(&terminated))
	require.NoError(t, rows.Close())
	require.Equal(t, 1, terminated, "the listener's connection")

	require.Eventually(t, func() bool { return p.keys.Cached() == 0 }, 5*time.Second, 5*time.Millisecond,
		"a dropped listener forgets every key")
	// Once it listens again, keys are cached again.
	require.Eventually(t, func() bool {
		_, err := p.authenticate(t, created.Read.Secret)
		require.NoError(t, err)
		n, err := p.authenticate(t, created.Read.Secret)
		require.NoError(t, err)
		return n == 0
	}, 10*time.Second, 10*time.Millisecond)
}

func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	_, created := setup(t)
	p := newProcess(t, "bounded", true, 2)
	for _, secret := range []string{created.Ingest.Secret, created.Read.Secret, created.Admin.Secret} {
		_, err := p.authenticate(t, secret)
		require.NoError(t, err)
	}
	require.Equal(t, 2, p.keys.Cached(), "at most MaxKeys keys")
	n, err := p.authenticate(t, created.Ingest.Secret)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the least recently used key was evicted")

	for range 1000 {
		_, err := p.authenticate(t, randomSecret(t))
		require.ErrorIs(t, err, auth.ErrUnauthenticated)
	}
	require.Equal(t, 2, p.keys.Cached())
	n, err = p.authenticate(t, created.Ingest.Secret)
	require.NoError(t, err)
	require.Equal(t, int64(0), n, "guessed keys cannot evict a real one")
}
