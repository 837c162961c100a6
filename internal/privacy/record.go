package privacy

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// record writes an erasure per user and, with suppress, their ids'
// suppressions, and returns the erasures in the order of users.
func record(ctx context.Context, tx *sql.Tx, scope tenant.Scope, salt []byte, users []erasedUser, suppress bool,
	counts removed, at time.Time) ([]Erasure, error) {
	keyID, keyPrefix := actor(scope)
	hashes := make([][]byte, len(users))
	removedDocs := make([]string, len(users))
	for i, u := range users {
		if u.ExternalID != "" {
			h := Hash(salt, u.ExternalID)
			hashes[i] = h[:]
		}
		doc, err := json.Marshal(nonNil(counts[u.ID]))
		if err != nil {
			return nil, fmt.Errorf("encode erased rows: %w", err)
		}
		removedDocs[i] = string(doc)
	}
	ids, err := insertErasures(ctx, tx, scope, keyID, keyPrefix, at, suppress, hashes, removedDocs)
	if err != nil {
		return nil, err
	}
	if len(ids) != len(users) {
		return nil, fmt.Errorf("record erasures: %d rows for %d users", len(ids), len(users))
	}
	out := make([]Erasure, len(users))
	for i, u := range users {
		out[i] = Erasure{ID: ids[i], ErasedAt: at, Suppressed: suppress, Removed: nonNil(counts[u.ID])}
		if u.ID != 0 {
			id := int(u.ID)
			out[i].UserID = &id
		}
	}
	if suppress {
		if err := suppressIDs(ctx, tx, scope.ProjectID, salt, users, ids); err != nil {
			return nil, err
		}
	}
	// The audit log names the erasures, never the users (see audit).
	entries := make([]audit.Entry, len(out))
	for i, e := range out {
		entries[i] = audit.Entry{ObjectID: e.ID, After: map[string]any{"suppressed": e.Suppressed, "removed": e.Removed}}
	}
	if err := audit.RecordAll(ctx, tx, entries); err != nil {
		return nil, err
	}
	return out, nil
}

// insertErasures inserts one erasure per hash (and removed document) and
// returns their ids in the same order. A user without an external id has
// an empty hash (pq.ByteaArray has no NULL), stored as NULL. The identity
// column numbers the rows in the order they are inserted, which ORDER BY
// fixes: the ids returned, sorted, are in the order of hashes.
func insertErasures(ctx context.Context, tx *sql.Tx, scope tenant.Scope, keyID, keyPrefix any, at time.Time, suppress bool,
	hashes [][]byte, removedDocs []string) ([]int, error) {
	rows, err := tx.QueryContext(ctx, `
		INSERT INTO user_erasures (project_id, external_id_hash, key_id, key_prefix, erased_at, suppressed, removed)
		SELECT $1, NULLIF(h, ''::bytea), $2, $3, $4, $5, r::jsonb FROM unnest($6::bytea[], $7::text[]) WITH ORDINALITY AS x(h, r, n) ORDER BY n
		RETURNING id`, scope.ProjectID, keyID, keyPrefix, at, suppress, pq.ByteaArray(hashes), pq.Array(removedDocs))
	if err != nil {
		return nil, fmt.Errorf("record erasures: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("record erasures: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record erasures: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// suppressIDs suppresses the external and anonymous ids of users, each
// owned by the erasure of the same index. An id suppressed before moves to
// the newer erasure.
func suppressIDs(ctx context.Context, tx *sql.Tx, projectID int, salt []byte, users []erasedUser, erasures []int) error {
	// One user's external id may be another's anonymous id: each id is
	// inserted once (a statement may not update a row twice).
	owner := map[[32]byte]int64{}
	for i, u := range users {
		for _, id := range append([]string{u.ExternalID}, u.AnonymousIDs...) {
			if id != "" {
				owner[Hash(salt, id)] = int64(erasures[i])
			}
		}
	}
	if len(owner) == 0 {
		return nil
	}
	hashes := make([][]byte, 0, len(owner))
	owners := make([]int64, 0, len(owner))
	for h, e := range owner {
		hashes = append(hashes, h[:])
		owners = append(owners, e)
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO suppressed_ids (project_id, id_hash, erasure_id, created_at)
		SELECT $1, h, e, now() FROM unnest($2::bytea[], $3::bigint[]) AS x(h, e)
		ON CONFLICT (project_id, id_hash) DO UPDATE SET erasure_id = excluded.erasure_id`,
		projectID, pq.ByteaArray(hashes), pq.Array(owners))
	if err != nil {
		return fmt.Errorf("suppress ids: %w", err)
	}
	return nil
}

// actor is the API key of the request, as erasures record it: its id and
// prefix (the prefix is kept so the record still reads once the key is
// revoked), or nothing for internal callers.
func actor(scope tenant.Scope) (keyID, keyPrefix any) {
	if scope.KeyID != 0 {
		keyID = scope.KeyID
	}
	if scope.KeyPrefix != "" {
		keyPrefix = scope.KeyPrefix
	}
	return keyID, keyPrefix
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}
