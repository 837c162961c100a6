package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/lib/pq"
)

// ErrRevoked is why a live operation opened with a key was ended: the key
// was revoked while the operation lasted.
var ErrRevoked = errors.New("API key revoked")

// watchSet holds the revocation callbacks of the live operations (WebSocket
// connections, Server-Sent Events streams) opened with each key, by the
// hash of its secret, which is what a revocation notifies.
type watchSet struct {
	mu     sync.Mutex
	byHash map[string]map[*watch]struct{}
}

type watch struct {
	revoked func()
}

// ScopeWatched is Scope for an operation that outlives its request: until
// stop is called, revoked is called once (from the revocation listener's
// goroutine, so it must not block) when the key of secret is revoked. The
// watch is registered before the key is checked, so a revocation cannot
// fall between the two unheard. Revocations are heard only while Listen
// runs; stop is not to be called from revoked.
func (k *Keys) ScopeWatched(ctx context.Context, secret string, revoked func()) (scoped context.Context, stop func(), err error) {
	stop = k.watches.add(hash(secret), revoked)
	scoped, err = k.Scope(ctx, secret)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return scoped, stop, nil
}

// Watched returns how many live operations are watched for revocation.
func (k *Keys) Watched() int {
	k.watches.mu.Lock()
	defer k.watches.mu.Unlock()
	n := 0
	for _, ws := range k.watches.byHash {
		n += len(ws)
	}
	return n
}

func (s *watchSet) add(hash string, revoked func()) (stop func()) {
	w := &watch{revoked: revoked}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byHash == nil {
		s.byHash = map[string]map[*watch]struct{}{}
	}
	if s.byHash[hash] == nil {
		s.byHash[hash] = map[*watch]struct{}{}
	}
	s.byHash[hash][w] = struct{}{}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.byHash[hash], w)
		if len(s.byHash[hash]) == 0 {
			delete(s.byHash, hash)
		}
	}
}

// revoke calls, and forgets, the callbacks of hash. They run after the
// lock is released: a callback may stop other watches.
func (s *watchSet) revoke(hash string) {
	s.mu.Lock()
	ws := s.byHash[hash]
	delete(s.byHash, hash)
	s.mu.Unlock()
	for w := range ws {
		w.revoked()
	}
}

func (s *watchSet) hashes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.byHash))
	for h := range s.byHash {
		out = append(out, h)
	}
	return out
}

// recheck ends the watches of keys revoked while the listener was
// disconnected: their notifications were lost with the connection.
func (k *Keys) recheck(ctx context.Context) error {
	watched := k.watches.hashes()
	if len(watched) == 0 {
		return nil
	}
	rows, err := k.client.QueryContext(ctx, selectLiveHashes, pq.Array(watched))
	if err != nil {
		return fmt.Errorf("recheck watched keys: %w", err)
	}
	defer rows.Close()
	live := map[string]bool{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return fmt.Errorf("recheck watched keys: %w", err)
		}
		live[h] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recheck watched keys: %w", err)
	}
	for _, h := range watched {
		if !live[h] {
			k.watches.revoke(h)
		}
	}
	return nil
}

// selectLiveHashes keeps the hashes of unrevoked keys, on the unique hash
// index.
const selectLiveHashes = `SELECT hash FROM api_keys WHERE hash = ANY($1) AND revoked_at IS NULL`
