package privacy

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// namedUsersSQL resolves external ids ($2) to the project's ($1) users as
// ingest resolves a userId (ingest's selectUsersByExternalID): the user
// with that external id or, when there is none, the known user an alias or
// a merge made it a name of (through identities). It yields (x, user id)
// for the ids that name a user, one probe of
// user_project_id_external_id, then at most one of
// identity_project_id_anonymous_id, per id; the LIMITs keep the lateral
// subquery from being flattened into a join.
const namedUsersSQL = `
	SELECT x, u.id FROM unnest($2::text[]) AS x,
	LATERAL (
		(SELECT id FROM users WHERE project_id = $1 AND external_id = x LIMIT 1)
		UNION ALL
		(SELECT i.user_id FROM identities i JOIN users o ON o.id = i.user_id
		 WHERE i.project_id = $1 AND i.anonymous_id = x AND o.external_id IS NOT NULL LIMIT 1)
		LIMIT 1) u`

// lockRounds bounds how often lockUsers resolves the names of a request
// again: each round is needed only when an alias or a merge moved a name
// between the previous resolution and the lock.
const lockRounds = 3

// errNamesMoving is returned when the names of a request kept moving to
// other users while the erasure locked them.
var errNamesMoving = errors.New("the users named kept changing while the erasure locked them; retry")

// lockUsers locks the rows of the users req names (users_pkey), in id
// order as ingestion's rollups lock them, and reads their anonymous ids and
// aliases. An external id names the user ingest would file a message under
// it for: an alias or the external id of a user merged away is the
// surviving user's (namedUsersSQL). It returns the external ids of req that
// no user has. A user id of req that is no user of the project is
// NOT_FOUND.
//
// The names are resolved again once the rows are locked: what moves a name
// to another user (a merge) locks the user it moves it from, so once a
// user is locked the names that resolve to it stay. Should a name have
// moved to a user not locked yet, that user is locked too, in a further
// round (out of id order, which only that race can cost: a deadlock that
// PostgreSQL breaks).
func lockUsers(ctx context.Context, tx *sql.Tx, projectID int, req Request) ([]erasedUser, []string, error) {
	userIDs := make([]int64, len(req.UserIDs))
	for i, id := range req.UserIDs {
		userIDs[i] = int64(id)
	}
	locked := map[int64]erasedUser{}
	var names map[string]int64
	for round := 0; ; round++ {
		var err error
		if names, err = resolveNames(ctx, tx, projectID, req.ExternalIDs); err != nil {
			return nil, nil, err
		}
		var toLock []int64
		for _, id := range slices.Concat(userIDs, slices.Collect(maps.Values(names))) {
			if _, ok := locked[id]; !ok && !slices.Contains(toLock, id) {
				toLock = append(toLock, id)
			}
		}
		if len(toLock) == 0 {
			break
		}
		if round == lockRounds {
			return nil, nil, errNamesMoving
		}
		users, err := lockByID(ctx, tx, projectID, toLock)
		if err != nil {
			return nil, nil, err
		}
		for _, u := range users {
			locked[u.ID] = u
		}
		if round == 0 {
			for _, id := range userIDs {
				if _, ok := locked[id]; !ok {
					return nil, nil, &invalid.Error{Field: req.UserIDsField, Message: fmt.Sprintf("user %d not found", id), Err: invalid.ErrNotFound}
				}
			}
		}
	}
	// A user locked in an earlier round that nothing names any more (a
	// name moved off it) is not erased.
	named := map[int64]bool{}
	for _, id := range slices.Concat(userIDs, slices.Collect(maps.Values(names))) {
		named[id] = true
	}
	var users []erasedUser
	for id, u := range locked {
		if named[id] {
			users = append(users, u)
		}
	}
	slices.SortFunc(users, func(a, b erasedUser) int { return cmp.Compare(a.ID, b.ID) })
	var unknown []string
	for _, ext := range req.ExternalIDs {
		if _, ok := locked[names[ext]]; !ok {
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

// resolveNames returns the users of the project that external ids name
// (namedUsersSQL); an id that names nobody is not in the map.
func resolveNames(ctx context.Context, tx *sql.Tx, projectID int, externalIDs []string) (map[string]int64, error) {
	names := map[string]int64{}
	if len(externalIDs) == 0 {
		return names, nil
	}
	rows, err := tx.QueryContext(ctx, namedUsersSQL, projectID, pq.Array(externalIDs))
	if err != nil {
		return nil, fmt.Errorf("resolve external ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			ext string
			id  int64
		)
		if err := rows.Scan(&ext, &id); err != nil {
			return nil, fmt.Errorf("resolve external ids: %w", err)
		}
		names[ext] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("resolve external ids: %w", err)
	}
	return names, nil
}

// lockByID locks and reads the users of the project with these ids, in id
// order. A user that is gone (merged away since it was resolved) is not
// returned.
func lockByID(ctx context.Context, tx *sql.Tx, projectID int, ids []int64) ([]erasedUser, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, COALESCE(external_id, '') FROM users
		WHERE project_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`, projectID, pq.Array(ids))
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

// mergedInto returns the ids of the users ingest merged into users
// (user_merges, through usermerge_user_id), each with the user it was
// merged into. Their rows are gone, but their segment memberships, dirty
// marks and the webhook messages of the runs that moved them still carry
// their ids: the erasure reaches those too. Read after the users are
// locked: a merge into one of them holds its row, so a merge that
// committed before is seen, and none can commit after.
func mergedInto(ctx context.Context, tx *sql.Tx, projectID int, users []int64) (map[int64]int64, error) {
	merged := map[int64]int64{}
	if len(users) == 0 {
		return merged, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT merged_user_id, user_id FROM user_merges WHERE user_id = ANY($2) AND project_id = $1`,
		projectID, pq.Array(users))
	if err != nil {
		return nil, fmt.Errorf("read merged users: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var from, into int64
		if err := rows.Scan(&from, &into); err != nil {
			return nil, fmt.Errorf("read merged users: %w", err)
		}
		merged[from] = into
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read merged users: %w", err)
	}
	return merged, nil
}
