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
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// lockUsers locks the rows of the users req names (users_pkey and
// user_project_id_external_id), in id order as ingestion's rollups lock
// them, and reads their anonymous ids and aliases. It returns the external
// ids of req that no user has. A user id of req that is no user of the
// project is NOT_FOUND.
func lockUsers(ctx context.Context, tx *sql.Tx, projectID int, req Request) ([]erasedUser, []string, error) {
	userIDs := make([]int64, len(req.UserIDs))
	for i, id := range req.UserIDs {
		userIDs[i] = int64(id)
	}
	users, err := scanUsers(ctx, tx, projectID, req.ExternalIDs, userIDs)
	if err != nil {
		return nil, nil, err
	}
	found := map[string]bool{}
	foundIDs := map[int64]bool{}
	for _, u := range users {
		found[u.ExternalID], foundIDs[u.ID] = true, true
	}
	for _, id := range userIDs {
		if !foundIDs[id] {
			return nil, nil, &invalid.Error{Field: req.UserIDsField, Message: fmt.Sprintf("user %d not found", id), Err: invalid.ErrNotFound}
		}
	}
	var unknown []string
	for _, ext := range req.ExternalIDs {
		if !found[ext] {
			unknown = append(unknown, ext)
		}
	}
	// Read after the lock, in a statement of its own: an identity that a
	// batch holding a user's row linked is committed, and seen, by now.
	if err := readAnonymousIDs(ctx, tx, users); err != nil {
		return nil, nil, err
	}
	return users, unknown, nil
}

// scanUsers locks and reads the users of the project with these external
// ids or ids.
func scanUsers(ctx context.Context, tx *sql.Tx, projectID int, externalIDs []string, userIDs []int64) ([]erasedUser, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT id, COALESCE(external_id, '') FROM users
		WHERE project_id = $1 AND (external_id = ANY($2) OR id = ANY($3)) ORDER BY id FOR UPDATE`,
		projectID, pq.Array(externalIDs), pq.Array(userIDs))
	if err != nil {
		return nil, fmt.Errorf("lock users: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var users []erasedUser
	for rows.Next() {
		var u erasedUser
		if err := rows.Scan(&u.ID, &u.ExternalID); err != nil {
			return nil, fmt.Errorf("lock users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock users: %w", err)
	}
	return users, nil
}

// readAnonymousIDs fills in the anonymous ids and aliases of users
// (identity_user_id).
func readAnonymousIDs(ctx context.Context, tx *sql.Tx, users []erasedUser) error {
	if len(users) == 0 {
		return nil
	}
	index := make(map[int64]int, len(users))
	ids := make([]int64, len(users))
	for i, u := range users {
		index[u.ID], ids[i] = i, u.ID
	}
	rows, err := tx.QueryContext(ctx, `SELECT user_id, anonymous_id FROM identities WHERE user_id = ANY($1) ORDER BY user_id, anonymous_id`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("read anonymous ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			user int64
			anon string
		)
		if err := rows.Scan(&user, &anon); err != nil {
			return fmt.Errorf("read anonymous ids: %w", err)
		}
		i := index[user]
		users[i].AnonymousIDs = append(users[i].AnonymousIDs, anon)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read anonymous ids: %w", err)
	}
	return nil
}

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
