package auth_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// proxy forwards TCP connections to PostgreSQL until cut, so a test can
// take the listener's connection away and keep it away.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{addr: ln.Addr().String(), target: target}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

// cut closes every connection and refuses new ones.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// restore accepts connections again on the same address.
func (p *proxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(t, err)
	p.serve(ln)
}

// TestOutageStopsTheCache cuts the listener's connection and keeps it cut:
// nothing is served from memory until it listens again, so a revocation
// sent meanwhile (and lost) cannot keep a key alive.
func TestOutageStopsTheCache(t *testing.T) {
	t.Parallel()
	_, created := setup(t)
	u, err := url.Parse(pgtest.DSN(t))
	require.NoError(t, err)
	px := newProxy(t, u.Host)
	u.Host = px.addr
	p := newProcessListening(t, "outage", u.String(), 0)
	other := newProcess(t, "other", false, 0)

	// A lookup is not cached when a revocation (any project's: other
	// tests run alongside) arrived while it ran; the next one is.
	require.Eventually(t, func() bool {
		for _, secret := range []string{created.Read.Secret, created.Ingest.Secret} {
			if _, err := p.keys.Authenticate(context.Background(), secret); err != nil {
				return false
			}
		}
		return p.keys.Cached() == 2
	}, 5*time.Second, 5*time.Millisecond)

	px.cut()
	require.Eventually(t, func() bool { return p.keys.Cached() == 0 }, 5*time.Second, 5*time.Millisecond,
		"a lost listener forgets every key")
	for range 2 {
		n, err := p.authenticate(t, created.Ingest.Secret)
		require.NoError(t, err)
		require.Equal(t, int64(1), n, "nothing is cached while the listener is down")
	}
	admin := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleAdmin, KeyID: created.Admin.Key.ID})
	_, err = other.keys.Revoke(admin, created.Read.Key.ID)
	require.NoError(t, err)
	_, err = p.authenticate(t, created.Read.Secret)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "revoked while this process could not hear it")

	px.restore(t)
	require.Eventually(t, func() bool {
		_, err := p.authenticate(t, created.Ingest.Secret)
		require.NoError(t, err)
		n, err := p.authenticate(t, created.Ingest.Secret)
		require.NoError(t, err)
		return n == 0
	}, 15*time.Second, 20*time.Millisecond, "the cache serves again once the listener is back")
	_, err = p.authenticate(t, created.Read.Secret)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}
