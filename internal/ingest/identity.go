package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/pulse-analytics/pulse/internal/dirty"
	"slices"

	"github.com/lib/pq"
)

// resolver maps the external and anonymous ids of a batch to user ids inside
// the batch's transaction, creating users on first sight.
type resolver struct {
	tx        dbtx
	projectID int
	byExtID   map[string]int
	byAnonID  map[string]int
	// anonymous marks users that have no external id yet: only those are
	// merged into a known user when their anonymous id is identified.
	anonymous map[int]bool
	// cache, when set, resolves known users without a query.
	cache *userCache
	// merged says a user was merged away: remembered ids may be stale.
	merged bool
	// created are the external ids the last find-or-create created users
	// for, until claimedMeanwhile checks them.
	created []string
	// changes are the users created or merged: every real-time segment
	// re-evaluates them.
	changes dirty.Changes
}

func newResolver(tx dbtx, projectID int) *resolver {
	return &resolver{tx: tx, projectID: projectID, byExtID: map[string]int{}, byAnonID: map[string]int{}, anonymous: map[int]bool{}}
}

// upsertKnown finds or creates the users of these external ids. It takes
// no locks on existing users: rollups lock them later, briefly, in id order.
func (r *resolver) upsertKnown(ctx context.Context, externalIDs []string) error {
	ids := uniqueSorted(externalIDs)
	if r.cache != nil {
		r.cache.lookup(r.projectID, ids, r.byExtID)
		ids = r.missing(ids)
	}
	if len(ids) == 0 {
		return nil
	}
	// One statement finds the known users (an index probe each) and
	// creates the others. Users a concurrent batch creates meanwhile are
	// neither found (older snapshot) nor created (the conflict); a second
	// lookup, with a new snapshot, finds them.
	if err := r.scanUsers(ctx, findOrCreateUsersByExternalID, ids); err != nil {
		return err
	}
	if err := r.claimedMeanwhile(ctx); err != nil {
		return err
	}
	missing := r.missing(ids)
	if len(missing) == 0 {
		return nil
	}
	if err := r.scanUsers(ctx, selectUsersByExternalID, missing); err != nil {
		return err
	}
	if missing = r.missing(missing); len(missing) > 0 {
		return fmt.Errorf("resolve user %q: not found after insert", missing[0])
	}
	return nil
}

// selectAliasedMeanwhile finds, of the external ids a batch just created
// users for, those an alias made a name of a known user meanwhile: an alias
// creates the user of its previous id too (see alias), so a batch that
// created the same user had to wait for the alias's transaction on the
// unique index, and this new statement sees what it committed. One probe of
// identities' unique index per id.
const selectAliasedMeanwhile = `
	SELECT x, a.user_id FROM unnest($2::text[]) AS x, LATERAL (` + aliasOwner + `) a`

// aliasOwner is the known user that id x names through identities (an
// alias's previous id, a merged user's external id): one probe of
// identities' unique index.
const aliasOwner = `SELECT i.user_id FROM identities i JOIN users o ON o.id = i.user_id
	WHERE i.project_id = $1 AND i.anonymous_id = x AND o.external_id IS NOT NULL LIMIT 1`

// claimedMeanwhile gives the users this batch created, that an alias has
// meanwhile made names of known users, to those users: the batch's own new
// rows are deleted. It runs before the batch links any id itself, so what
// it finds is another batch's.
func (r *resolver) claimedMeanwhile(ctx context.Context) error {
	if len(r.created) == 0 {
		return nil
	}
	owners := map[string]int{}
	rows, err := r.tx.QueryContext(ctx, selectAliasedMeanwhile, r.projectID, pq.Array(r.created))
	if err != nil {
		return fmt.Errorf("check new users against aliases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ext string
		var owner int
		if err := rows.Scan(&ext, &owner); err != nil {
			return fmt.Errorf("check new users against aliases: %w", err)
		}
		owners[ext] = owner
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check new users against aliases: %w", err)
	}
	r.created = r.created[:0]
	for ext, owner := range owners {
		if _, err := r.tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1 AND project_id = $2`, r.byExtID[ext], r.projectID); err != nil {
			return fmt.Errorf("drop a user an alias claimed: %w", err)
		}
		r.byExtID[ext] = owner
	}
	return nil
}

// selectUsersByExternalID probes the unique (project_id, external_id)
// index once per id. An id that is no user's but that an alias tied to a
// known user (see alias) is that user's, found on identities' unique index
// only when the first probe finds nothing. The LIMITs keep the planner from
// flattening the lateral subquery into a join, which on a young table with
// stale statistics becomes a scan of every user of the project per batch.
const selectUsersByExternalID = `
	SELECT u.id, x AS external_id, false AS created FROM unnest($2::text[]) AS x,
	LATERAL (
		(SELECT id FROM users WHERE project_id = $1 AND external_id = x LIMIT 1)
		UNION ALL
		(` + aliasOwner + `)
		LIMIT 1) u`

// findOrCreateUsersByExternalID returns the users of external ids, creating
// the ones not found, in one round trip. It inserts them sorted so that
// concurrent batches take the unique index's locks in one order.
const findOrCreateUsersByExternalID = `
	WITH found AS (` + selectUsersByExternalID + `
	), created AS (
		INSERT INTO users (project_id, external_id, created_at, updated_at, event_count)
		SELECT $1, x, now(), now(), 0 FROM unnest($2::text[]) AS x
		WHERE NOT EXISTS (SELECT FROM found WHERE found.external_id = x)
		ORDER BY x
		ON CONFLICT (project_id, external_id) DO NOTHING
		RETURNING id, external_id)
	SELECT id, external_id, created FROM found
	UNION ALL
	SELECT id, external_id, true FROM created`

// selectAnonymous finds the users of anonymous ids on the unique
// (project_id, anonymous_id) index of identities; the project's identities
// point at the project's users, found by primary key.
const selectAnonymous = `
	SELECT i.anonymous_id, i.user_id, u.external_id IS NULL
	FROM unnest($2::text[]) AS x,
	LATERAL (SELECT anonymous_id, user_id FROM identities WHERE project_id = $1 AND anonymous_id = x LIMIT 1) i
	JOIN users u ON u.id = i.user_id`

// insertIdentity links an anonymous id to a user unless it is linked
// already; it returns no row when it is (link then reads the owner).
const insertIdentity = `
	INSERT INTO identities (project_id, anonymous_id, user_id, created_at)
	VALUES ($1, $2, $3, now())
	ON CONFLICT (project_id, anonymous_id) DO NOTHING
	RETURNING user_id`

const selectIdentityOwner = `SELECT user_id FROM identities WHERE project_id = $1 AND anonymous_id = $2`

const insertAnonymousUser = `
	INSERT INTO users (project_id, created_at, updated_at, event_count)
	VALUES ($1, now(), now(), 0) RETURNING id`

// lookupKnown finds the users of these external ids, creating none.
func (r *resolver) lookupKnown(ctx context.Context, externalIDs []string) error {
	if len(externalIDs) == 0 {
		return nil
	}
	return r.scanUsers(ctx, selectUsersByExternalID, uniqueSorted(externalIDs))
}

func (r *resolver) missing(ids []string) []string {
	var out []string
	for _, id := range ids {
		if _, ok := r.byExtID[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

func (r *resolver) scanUsers(ctx context.Context, query string, ids []string) error {
	rows, err := r.tx.QueryContext(ctx, query, r.projectID, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("resolve users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var ext string
		var created bool
		if err := rows.Scan(&id, &ext, &created); err != nil {
			return fmt.Errorf("resolve users: %w", err)
		}
		r.byExtID[ext] = id
		if created {
			r.created = append(r.created, ext)
			r.changes.Add(int64(id), dirty.All)
		}
	}
	return rows.Err()
}

// lookupAnonymous loads the users of already-known anonymous ids.
func (r *resolver) lookupAnonymous(ctx context.Context, anonymousIDs []string) error {
	ids := uniqueSorted(anonymousIDs)
	if len(ids) == 0 {
		return nil
	}
	rows, err := r.tx.QueryContext(ctx, selectAnonymous, r.projectID, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("look up anonymous ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var anon string
		var id int
		var isAnonymous bool
		if err := rows.Scan(&anon, &id, &isAnonymous); err != nil {
			return fmt.Errorf("look up anonymous ids: %w", err)
		}
		r.byAnonID[anon] = id
		if isAnonymous {
			r.anonymous[id] = true
		}
	}
	return rows.Err()
}

// link records anonymous id anon as belonging to user id, first sight wins.
// It returns the user the id belongs to after the race, which is id unless a
// concurrent batch linked it first.
func (r *resolver) link(ctx context.Context, anon string, id int) (int, error) {
	var owner int
	err := r.tx.QueryRowContext(ctx, insertIdentity, r.projectID, anon, id).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		// Linked already, possibly by a concurrent batch that committed
		// while the insert waited for it: a snapshot older than that
		// commit (the insert's) cannot see the link, a new statement's can.
		err = r.tx.QueryRowContext(ctx, selectIdentityOwner, r.projectID, anon).Scan(&owner)
	}
	if err != nil {
		return 0, fmt.Errorf("link anonymous id: %w", staleIfMissingUser(err))
	}
	r.byAnonID[anon] = owner
	return owner, nil
}

// anonymousUser returns the user of an anonymous id, creating an anonymous
// user for a first sighting.
func (r *resolver) anonymousUser(ctx context.Context, anon string) (int, error) {
	if id, ok := r.byAnonID[anon]; ok {
		return id, nil
	}
	var id int
	if err := r.tx.QueryRowContext(ctx, insertAnonymousUser, r.projectID).Scan(&id); err != nil {
		return 0, fmt.Errorf("create anonymous user: %w", err)
	}
	owner, err := r.link(ctx, anon, id)
	if err != nil {
		return 0, err
	}
	if owner != id {
		// A concurrent batch saw this visitor first: use its user.
		if _, err := r.tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1 AND project_id = $2`, id, r.projectID); err != nil {
			return 0, fmt.Errorf("drop duplicate anonymous user: %w", err)
		}
		return owner, nil
	}
	r.anonymous[id] = true
	r.changes.Add(int64(id), dirty.All)
	return id, nil
}

// identify ties anonymous id anon to the known user known: a first sighting
// is linked; an anonymous user seen before under anon is merged into known.
// An id already tied to another known user stays with it: two known users
// are only merged by an explicit alias.
func (r *resolver) identify(ctx context.Context, anon string, known int) error {
	current, seen := r.byAnonID[anon]
	if !seen {
		owner, err := r.link(ctx, anon, known)
		if err != nil || owner == known {
			return err
		}
		current = owner
		if !r.anonymous[owner] {
			anonymous, err := r.isAnonymous(ctx, owner)
			if err != nil {
				return err
			}
			r.anonymous[owner] = anonymous
		}
	}
	if current == known || !r.anonymous[current] {
		return nil
	}
	return r.merge(ctx, current, known)
}

// isAnonymous reports whether user id has no external id yet. A user that
// is gone was merged away by a concurrent batch since its id was read: the
// batch is tried again (errStaleUser), as for any stale user.
func (r *resolver) isAnonymous(ctx context.Context, id int) (bool, error) {
	var anonymous bool
	err := r.tx.QueryRowContext(ctx, `SELECT external_id IS NULL FROM users WHERE id = $1 AND project_id = $2`, id, r.projectID).Scan(&anonymous)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, errStaleUser
	case err != nil:
		return false, fmt.Errorf("read user %d: %w", id, err)
	}
	return anonymous, nil
}

// merge moves everything of user from into user into and deletes from: its
// events, daily activity, feedback, survey responses and identities; counts,
// first/last seen and traits are combined (into's traits win); its segment
// memberships end at the next run of each segment. The merge is recorded in
// user_merges, for an erasure of into.
func (r *resolver) merge(ctx context.Context, from, into int) error {
	from64, into64, project := int64(from), int64(into), int64(r.projectID)
	both := []any{from64, into64, project}
	only := []any{from64, project}
	r.merged = true
	// Both users must be there to lock: a remembered id may be of a user
	// merged away since, and every step would then do nothing.
	res, err := r.tx.ExecContext(ctx, `SELECT id FROM users WHERE id = ANY(ARRAY[$1, $2]::bigint[]) AND project_id = $3 ORDER BY id FOR UPDATE`, both...)
	if err != nil {
		return fmt.Errorf("merge user %d into %d: %w", from, into, err)
	}
	if locked, _ := res.RowsAffected(); locked != 2 {
		return errStaleUser
	}
	// Both move: into gains from's history, from leaves its segments (a
	// pass finds it gone and closes its memberships as exits).
	r.changes.Add(into64, dirty.All)
	r.changes.Add(from64, dirty.All)
	steps := []struct {
		query string
		args  []any
	}{
		{`UPDATE events SET user_id = $2 WHERE project_id = $3 AND user_id = $1`, both},
		{`INSERT INTO user_daily_activities (project_id, user_id, day, events, mobile_events, tablet_events, desktop_events)
		 SELECT project_id, $2, day, events, mobile_events, tablet_events, desktop_events
		 FROM user_daily_activities WHERE user_id = $1 AND project_id = $3
		 ON CONFLICT (user_id, day) DO UPDATE SET
		   events = user_daily_activities.events + excluded.events,
		   mobile_events = user_daily_activities.mobile_events + excluded.mobile_events,
		   tablet_events = user_daily_activities.tablet_events + excluded.tablet_events,
		   desktop_events = user_daily_activities.desktop_events + excluded.desktop_events`, both},
		{`DELETE FROM user_daily_activities WHERE user_id = $1 AND project_id = $2`, only},
		{`UPDATE feedbacks SET user_id = $2 WHERE user_id = $1 AND project_id = $3`, both},
		{`UPDATE survey_responses SET user_id = $2 WHERE user_id = $1 AND project_id = $3`, both},
		{`UPDATE identities SET user_id = $2 WHERE user_id = $1 AND project_id = $3`, both},
		// from's external id stays a name of into, as an alias's previous id.
		{`INSERT INTO identities (project_id, anonymous_id, user_id, created_at)
		 SELECT project_id, external_id, $2, now() FROM users WHERE id = $1 AND project_id = $3 AND external_id IS NOT NULL
		 ON CONFLICT (project_id, anonymous_id) DO UPDATE SET user_id = excluded.user_id`, both},
		{`UPDATE users k SET
		   event_count = k.event_count + f.event_count,
		   first_seen_at = LEAST(k.first_seen_at, f.first_seen_at),
		   last_seen_at = GREATEST(k.last_seen_at, f.last_seen_at),
		   traits = COALESCE(f.traits, '{}'::jsonb) || COALESCE(k.traits, '{}'::jsonb),
		   updated_at = now()
		 FROM users f WHERE k.id = $2 AND f.id = $1 AND k.project_id = $3 AND f.project_id = $3`, both},
		// Segment memberships have no foreign keys to cascade: from's stay
		// until the next run of each segment finds it gone and closes them
		// as exits (a pass, for real-time segments: from is marked), so
		// its leaving is a change like any other and sizes stay exact.
		// Those intervals, marks and the webhook messages of the runs keep
		// from's id as history; the merge is recorded so that an erasure
		// of into reaches them (privacy), and merges into from become
		// merges into into, so the erasure needs one probe, no chain.
		{`WITH moved AS (UPDATE user_merges SET user_id = $2 WHERE user_id = $1 AND project_id = $3)
		 INSERT INTO user_merges (project_id, user_id, merged_user_id, merged_at) VALUES ($3, $2, $1, now())`, both},
		{`DELETE FROM users WHERE id = $1 AND project_id = $2`, only},
	}
	for _, step := range steps {
		if _, err := r.tx.ExecContext(ctx, step.query, step.args...); err != nil {
			return fmt.Errorf("merge user %d into %d: %w", from, into, staleIfMissingUser(err))
		}
	}
	for anon, id := range r.byAnonID {
		if id == from {
			r.byAnonID[anon] = into
		}
	}
	for ext, id := range r.byExtID {
		if id == from {
			r.byExtID[ext] = into
		}
	}
	delete(r.anonymous, from)
	return nil
}

// alias merges the user known as previous (an anonymous id, or another
// external id) into the user of userID, and keeps previous as a name of
// that user: later messages under it, as user or anonymous id, land on
// into. An external id is resolved by upsertKnown like any other, so an
// alias that comes before any message under previous (SDKs flush batches
// concurrently) creates a user for it and merges that. Creating it is what
// orders the alias against a concurrent batch creating the same user: the
// unique index makes one wait for the other, and the one that waited sees
// the other's result (see claimedMeanwhile). previous is linked before any
// merge locks a user's row: the link may wait for a concurrent batch that
// linked previous to an anonymous user, whose history is then merged too.
func (r *resolver) alias(ctx context.Context, previous string, into int) error {
	from, anonymous := r.byAnonID[previous]
	if anonymous {
		if from != into {
			if err := r.merge(ctx, from, into); err != nil { // its identity moves to into
				return err
			}
		}
		// The id may also be a known user's, seen as a userId too (looked
		// up by resolveUsers).
		if known, ok := r.byExtID[previous]; ok && known != into {
			return r.merge(ctx, known, into)
		}
		return nil
	}
	from = r.byExtID[previous] // found or created by upsertKnown
	if from == into {
		return nil
	}
	owner, err := r.link(ctx, previous, into)
	if err != nil {
		return err
	}
	if owner != into && owner != from {
		if err := r.merge(ctx, owner, into); err != nil {
			return err
		}
	}
	return r.merge(ctx, from, into)
}

func uniqueSorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
