// Package auth issues and checks API keys and puts the caller's tenant scope
// into request contexts.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/apikey"
	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Errors callers branch on.
var (
	// ErrUnauthenticated means no key, or a key that is unknown or revoked.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden means a valid key whose role is too weak.
	ErrForbidden = errors.New("forbidden")
)

// keyPrefixLen is how much of a key is stored in clear to tell keys apart:
// "pk_admin_" and the first random characters.
const keyPrefixLen = 4

// Keys issues, looks up and revokes API keys.
type Keys struct {
	client *ent.Client
	// cache is set while Listen hears revocations; without it every
	// lookup is a query.
	cache atomic.Pointer[cache]
	// watches are the live operations to end when their key is revoked.
	watches watchSet
	// stop ends Listen's goroutine and stopped closes when it has.
	stop    context.CancelFunc
	stopped chan struct{}
}

// NewKeys returns Keys over client.
func NewKeys(client *ent.Client) *Keys { return &Keys{client: client} }

// Issued is a new key: the stored row and the secret, which exists only here.
type Issued struct {
	Key    *ent.APIKey
	Secret string
}

// Create issues a key of role for the project of ctx.
func (k *Keys) Create(ctx context.Context, role tenant.Role, name string) (*Issued, error) {
	if len(name) > 200 {
		return nil, invalid.Field("input.name", "must be at most 200 characters")
	}
	secret, err := newSecret(role)
	if err != nil {
		return nil, err
	}
	shown := len(secretPrefix(role)) + keyPrefixLen
	var key *ent.APIKey
	err = k.inTx(ctx, func(client *ent.Client) error {
		key, err = client.APIKey.Create().
			SetRole(apikey.Role(role)).
			SetName(name).
			SetPrefix(secret[:shown]).
			SetHash(hash(secret)).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("create %s key: %w", role, err)
		}
		return audit.Record(ctx, client, key.ID, nil, auditedKey(key))
	})
	if err != nil {
		return nil, err
	}
	return &Issued{Key: key, Secret: secret}, nil
}

// auditedKey is a key as its audit entries show it: never its secret nor
// its hash.
func auditedKey(key *ent.APIKey) map[string]any {
	return map[string]any{"role": key.Role, "name": key.Name, "prefix": key.Prefix, "revokedAt": key.RevokedAt}
}

// inTx runs fn in a transaction of k's client, committed when fn
// succeeds, or in the caller's when k's client already runs in one.
func (k *Keys) inTx(ctx context.Context, fn func(client *ent.Client) error) error {
	tx, err := k.client.Tx(ctx)
	if errors.Is(err, ent.ErrTxStarted) {
		return fn(k.client)
	}
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx.Client()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Revoke revokes key id of the project of ctx. A key cannot revoke itself,
// so an admin cannot lock themselves out by accident.
func (k *Keys) Revoke(ctx context.Context, id int) (*ent.APIKey, error) {
	if s, ok := tenant.FromContext(ctx); ok && s.KeyID == id {
		return nil, invalid.Field("id", "a key cannot revoke itself; use another ADMIN key")
	}
	key, err := k.client.APIKey.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "id", Message: fmt.Sprintf("API key %d not found", id), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("load key %d: %w", id, err)
	}
	if key.RevokedAt != nil {
		return key, nil
	}
	return k.revoke(ctx, key)
}

// revoke marks key revoked and notifies RevokeChannel in the same
// transaction, so every process evicts it exactly when it stops being live
// in the database.
func (k *Keys) revoke(ctx context.Context, key *ent.APIKey) (*ent.APIKey, error) {
	var revoked *ent.APIKey
	err := k.inTx(ctx, func(client *ent.Client) error {
		var err error
		revoked, err = client.APIKey.UpdateOne(key).SetRevokedAt(time.Now()).Save(ctx)
		if err != nil {
			return fmt.Errorf("revoke key %d: %w", key.ID, err)
		}
		if _, err := client.ExecContext(ctx, `SELECT pg_notify($1, $2)`, RevokeChannel, key.Hash); err != nil {
			return fmt.Errorf("revoke key %d: notify: %w", key.ID, err)
		}
		return audit.Record(ctx, client, key.ID, auditedKey(key), auditedKey(revoked))
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// List returns the keys of the project of ctx, newest first.
func (k *Keys) List(ctx context.Context, includeRevoked bool) ([]*ent.APIKey, error) {
	q := k.client.APIKey.Query().Order(ent.Desc(apikey.FieldCreatedAt), ent.Desc(apikey.FieldID))
	if !includeRevoked {
		q.Where(apikey.RevokedAtIsNil())
	}
	keys, err := q.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// Authenticate returns the scope of secret, or ErrUnauthenticated. It reads
// across projects: the key decides the project.
//
// While Listen runs, answers come from memory after the first lookup of a
// secret; a secret that cannot be a key is refused without any lookup.
func (k *Keys) Authenticate(ctx context.Context, secret string) (tenant.Scope, error) {
	if !wellFormed(secret) {
		return tenant.Scope{}, ErrUnauthenticated
	}
	h := hash(secret)
	c := k.cache.Load()
	if c == nil {
		return k.lookup(ctx, h)
	}
	now := time.Now()
	scope, found, hit, gen := c.get(h, now)
	if hit {
		if !found {
			return tenant.Scope{}, ErrUnauthenticated
		}
		return scope, nil
	}
	scope, err := k.lookup(ctx, h)
	switch {
	case err == nil:
		c.put(h, scope, true, gen, now)
	case errors.Is(err, ErrUnauthenticated):
		c.put(h, scope, false, gen, now)
	}
	return scope, err
}

// lookup finds the live key of hash. It is one plain statement rather than
// an ent query: building the query cost more CPU than PostgreSQL spent
// running it.
func (k *Keys) lookup(ctx context.Context, hash string) (tenant.Scope, error) {
	var (
		scope tenant.Scope
		role  string
	)
	rows, err := k.client.QueryContext(ctx, selectLiveKey, hash)
	if err != nil {
		return tenant.Scope{}, fmt.Errorf("look up key: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return tenant.Scope{}, fmt.Errorf("look up key: %w", err)
		}
		return tenant.Scope{}, ErrUnauthenticated
	}
	if err := rows.Scan(&scope.KeyID, &scope.ProjectID, &role, &scope.KeyPrefix); err != nil {
		return tenant.Scope{}, fmt.Errorf("look up key: %w", err)
	}
	scope.Role = tenant.Role(role)
	return scope, nil
}

// selectLiveKey finds an unrevoked key by the hash of its secret, on the
// unique hash index.
const selectLiveKey = `SELECT id, project_id, role, prefix FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`

// Require returns ErrUnauthenticated or ErrForbidden unless ctx carries a
// scope of at least role.
func Require(ctx context.Context, role tenant.Role) error {
	s, ok := tenant.FromContext(ctx)
	if !ok {
		return ErrUnauthenticated
	}
	if !s.Role.Allows(role) {
		return fmt.Errorf("%w: needs a %s key, this is a %s key", ErrForbidden, role, s.Role)
	}
	return nil
}

// secretBytes is the randomness of a key.
const secretBytes = 32

// newSecret returns "pk_<role>_<43 random base64url characters>": 256 bits,
// with the role readable so a leaked key's blast radius is obvious.
func newSecret(role tenant.Role) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return secretPrefix(role) + base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormed reports whether secret has the shape newSecret gives keys, so
// garbage costs neither a query nor a cache entry.
func wellFormed(secret string) bool {
	for _, role := range []tenant.Role{tenant.RoleIngest, tenant.RoleRead, tenant.RoleAdmin} {
		if rest, ok := strings.CutPrefix(secret, secretPrefix(role)); ok {
			return len(rest) == base64.RawURLEncoding.EncodedLen(secretBytes) && !strings.ContainsFunc(rest, notBase64URL)
		}
	}
	return false
}

func notBase64URL(r rune) bool {
	return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_'
}

func secretPrefix(role tenant.Role) string { return "pk_" + strings.ToLower(string(role)) + "_" }

func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
