package auth

import (
	"container/list"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Defaults of the key cache.
const (
	// DefaultCacheKeys bounds the keys kept in process. A key is a few
	// hundred bytes, so the default costs about a megabyte at most.
	DefaultCacheKeys = 4096
	// cacheTTL bounds how long an entry lives without a fresh lookup, so
	// a revocation whose notification went missing without the listener
	// noticing still takes effect.
	cacheTTL = time.Minute
	// unknownKeys bounds the remembered unknown secrets, kept apart from
	// the known keys so guessing cannot evict a real key.
	unknownKeys = 256
	// unknownTTL is how long an unknown secret is refused without a query.
	unknownTTL = 10 * time.Second
)

// cache holds the scopes of recently authenticated keys by the hash of
// their secret, most recently used first. It serves only while the
// revocation listener is connected: live is false before and during an
// outage, when every lookup goes to the database.
type cache struct {
	mu    sync.Mutex
	live  bool
	gen   uint64 // bumped by every invalidation; a lookup that raced one is not stored
	known *lru
	// unknown remembers secrets that matched no live key. A key revoked
	// or never issued cannot come back, so only the bound matters here.
	unknown *lru
}

func newCache(maxKeys int) *cache {
	if maxKeys <= 0 {
		maxKeys = DefaultCacheKeys
	}
	return &cache{known: newLRU(maxKeys), unknown: newLRU(unknownKeys)}
}

// get returns the cached answer for hash: ok reports a hit, found whether
// it names a live key. gen is the generation to pass to put after a miss.
func (c *cache) get(hash string, now time.Time) (scope tenant.Scope, found, ok bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live {
		return tenant.Scope{}, false, false, c.gen
	}
	if s, hit := c.known.get(hash, now); hit {
		return s, true, true, c.gen
	}
	if _, hit := c.unknown.get(hash, now); hit {
		return tenant.Scope{}, false, true, c.gen
	}
	return tenant.Scope{}, false, false, c.gen
}

// put stores a lookup's answer unless an invalidation happened since gen.
func (c *cache) put(hash string, scope tenant.Scope, found bool, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	if found {
		c.known.put(hash, scope, now.Add(cacheTTL))
		return
	}
	c.unknown.put(hash, tenant.Scope{}, now.Add(unknownTTL))
}

// evict forgets hash.
func (c *cache) evict(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.known.remove(hash)
}

// reset forgets every key and sets whether the cache may serve.
func (c *cache) reset(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.live = live
	c.known = newLRU(c.known.max)
	c.unknown = newLRU(c.unknown.max)
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.known.order.Len()
}

// lru is a size-capped map, least recently used evicted first. It is not
// safe for concurrent use; cache locks around it.
type lru struct {
	max   int
	order *list.List // of *lruEntry, front most recent
	index map[string]*list.Element
}

type lruEntry struct {
	hash    string
	scope   tenant.Scope
	expires time.Time
}

func newLRU(maxEntries int) *lru {
	return &lru{max: maxEntries, order: list.New(), index: make(map[string]*list.Element)}
}

func (l *lru) get(hash string, now time.Time) (tenant.Scope, bool) {
	el, ok := l.index[hash]
	if !ok {
		return tenant.Scope{}, false
	}
	e := el.Value.(*lruEntry) //nolint:forcetypeassert // the list holds only *lruEntry
	if !now.Before(e.expires) {
		l.order.Remove(el)
		delete(l.index, hash)
		return tenant.Scope{}, false
	}
	l.order.MoveToFront(el)
	return e.scope, true
}

func (l *lru) put(hash string, scope tenant.Scope, expires time.Time) {
	if el, ok := l.index[hash]; ok {
		e := el.Value.(*lruEntry) //nolint:forcetypeassert // the list holds only *lruEntry
		e.scope, e.expires = scope, expires
		l.order.MoveToFront(el)
		return
	}
	l.index[hash] = l.order.PushFront(&lruEntry{hash: hash, scope: scope, expires: expires})
	for l.order.Len() > l.max {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.index, oldest.Value.(*lruEntry).hash) //nolint:forcetypeassert // the list holds only *lruEntry
	}
}

func (l *lru) remove(hash string) {
	if el, ok := l.index[hash]; ok {
		l.order.Remove(el)
		delete(l.index, hash)
	}
}
