package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/lib/pq"
)

// RevokeChannel is the PostgreSQL channel a revocation notifies, in the
// revoking transaction, with the hash of the revoked key as payload.
const RevokeChannel = "pulse_api_keys"

// ListenerApplicationName names the revocation listener's connection in
// pg_stat_activity.
const ListenerApplicationName = "pulse_auth_listener"

// listenPing is how often the idle listener connection is checked, so a
// silently dead connection is noticed, and the cache cleared, within it.
const listenPing = 10 * time.Second

// ListenConfig configures Keys.Listen.
type ListenConfig struct {
	// DSN is the database to listen on.
	DSN string
	// MaxKeys bounds the keys cached in process (DefaultCacheKeys if 0).
	MaxKeys int
	// ApplicationName names the connection (ListenerApplicationName if empty).
	ApplicationName string
	Logger          *slog.Logger
}

// Listen turns on the key cache: after it returns, a key is looked up in the
// database once and then served from memory, until a revocation anywhere
// evicts it (and ends the live operations opened with it, see
// ScopeWatched). It listens on RevokeChannel until ctx ends or Stop. The cache serves
// only while the connection is up: when it drops, every cached key is
// forgotten and lookups go to the database until it is back, so a
// revocation sent meanwhile cannot be missed.
func (k *Keys) Listen(ctx context.Context, cfg ListenConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ApplicationName == "" {
		cfg.ApplicationName = ListenerApplicationName
	}
	c := newCache(cfg.MaxKeys)
	events := make(chan pq.ListenerEventType, 16)
	listener := pq.NewListener(withApplicationName(cfg.DSN, cfg.ApplicationName), 100*time.Millisecond, 5*time.Second,
		func(ev pq.ListenerEventType, err error) {
			if err != nil {
				cfg.Logger.Warn("auth listener connection", "event", ev.String(), "err", err)
			}
			if ev == pq.ListenerEventDisconnected || ev == pq.ListenerEventConnectionAttemptFailed {
				// Before anything else can be served from the cache.
				c.reset(false)
			}
			select {
			case events <- ev:
			default:
			}
		})
	if err := awaitConnected(ctx, events); err != nil {
		_ = listener.Close()
		return err
	}
	if err := listener.Listen(RevokeChannel); err != nil {
		_ = listener.Close()
		return fmt.Errorf("listen on %s: %w", RevokeChannel, err)
	}
	c.reset(true)
	k.cache.Store(c)
	ctx, k.stop = context.WithCancel(ctx)
	k.stopped = make(chan struct{})
	go func() {
		defer close(k.stopped)
		k.listen(ctx, c, listener, cfg.Logger)
	}()
	return nil
}

// Stop ends what Listen started and waits for it: lookups query the
// database again.
func (k *Keys) Stop() {
	if k.stop == nil {
		return
	}
	k.stop()
	<-k.stopped
}

func (k *Keys) listen(ctx context.Context, c *cache, listener *pq.Listener, logger *slog.Logger) {
	var rechecks sync.WaitGroup
	defer rechecks.Wait()
	defer func() { _ = listener.Close() }()
	defer k.cache.CompareAndSwap(c, nil)
	ping := time.NewTicker(listenPing)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-listener.Notify:
			if n == nil {
				// pq sends nil once it listens again after a lost
				// connection: the cache was cleared when it dropped, and
				// the live operations of keys revoked meanwhile are
				// found in the database (not inline: this loop must go
				// on hearing revocations).
				c.reset(true)
				rechecks.Add(1)
				go func() {
					defer rechecks.Done()
					if err := k.recheck(ctx); err != nil {
						logger.Warn("auth listener: recheck live operations' keys", "err", err)
					}
				}()
				continue
			}
			c.evict(n.Extra)
			k.watches.revoke(n.Extra)
		case <-ping.C:
			go func() { _ = listener.Ping() }() // a failure shows as a disconnect event
		}
	}
}

func awaitConnected(ctx context.Context, events <-chan pq.ListenerEventType) error {
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("open auth listener: %w", ctx.Err())
		case ev := <-events:
			if ev == pq.ListenerEventConnected {
				return nil
			}
		}
	}
}

// withApplicationName names the connection of dsn.
func withApplicationName(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("application_name", name)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " application_name=" + name
}

// Cached returns how many keys are served from memory.
func (k *Keys) Cached() int {
	if c := k.cache.Load(); c != nil {
		return c.len()
	}
	return 0
}
