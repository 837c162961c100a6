package ingest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Writer stores batches of messages. Each batch is one transaction: its
// events, the users and identities they need, and the rollups they move
// (users' counts and first/last seen, daily activity) commit together or not
// at all, so a client's retry after a failure is safe (message ids dedup).
type Writer struct {
	db    *sql.DB
	now   func() time.Time
	users *userCache
}

// NewWriter returns a Writer over db.
func NewWriter(db *sql.DB) *Writer { return &Writer{db: db, now: time.Now, users: newUserCache()} }

// Write validates msgs, stores the valid ones for the project in ctx, and
// reports the rest as rejected: one bad message does not cost the others.
// Messages already stored (same message id in the project) count as
// duplicates and change nothing.
func (w *Writer) Write(ctx context.Context, msgs []Message) (Result, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok || !scope.Role.Allows(tenant.RoleIngest) {
		return Result{}, fmt.Errorf("write events: %w", tenant.ErrNoTenant)
	}
	if len(msgs) > MaxBatchSize {
		return Result{}, fmt.Errorf("%d messages in one batch; the limit is %d", len(msgs), MaxBatchSize)
	}
	receivedAt := w.now().UTC()
	var res Result
	batch := make([]*prepared, 0, len(msgs))
	seen := map[string]bool{}
	for i, m := range msgs {
		p, rej := prepare(i, m, receivedAt)
		if rej != nil {
			res.Rejected = append(res.Rejected, *rej)
			continue
		}
		if seen[p.MessageID] {
			res.Duplicates++
			continue
		}
		seen[p.MessageID] = true
		batch = append(batch, p)
	}
	if len(batch) == 0 {
		return res, nil
	}
	stored, duplicates, err := w.store(ctx, scope.ProjectID, batch, receivedAt, true)
	if errors.Is(err, errStaleUser) {
		w.users.forget(scope.ProjectID)
		stored, duplicates, err = w.store(ctx, scope.ProjectID, batch, receivedAt, false)
	}
	if err != nil {
		return Result{}, err
	}
	res.Accepted += stored
	res.Duplicates += duplicates
	return res, nil
}

// store writes batch in one transaction; useCache lets known users resolve
// from memory.
func (w *Writer) store(ctx context.Context, projectID int, batch []*prepared, receivedAt time.Time, useCache bool) (stored, duplicates int, err error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("begin batch: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	settings, err := loadSettings(ctx, tx, projectID)
	if err != nil {
		return 0, 0, err
	}
	// Profile messages first, in time order, so that a track following an
	// identify in the same batch lands on the identified user.
	sort.SliceStable(batch, func(i, j int) bool { return batch[i].at.Before(batch[j].at) })
	r := newResolver(tx, projectID)
	if useCache {
		r.cache = w.users
	}
	userOf, err := resolveUsers(ctx, r, batch)
	if err != nil {
		return 0, 0, err
	}
	if err := applyProfiles(ctx, tx, r, batch); err != nil {
		return 0, 0, err
	}
	inserted, usage, err := insertEvents(ctx, tx, projectID, settings, batch, userOf, receivedAt)
	if err != nil {
		return 0, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("commit batch: %w", err)
	}
	if r.merged {
		w.users.forget(projectID)
	} else {
		w.users.remember(projectID, r.byExtID)
	}
	profiles := len(batch) - usage
	return inserted + profiles, usage - inserted, nil
}

// settings are the project's rules for rollups.
type settings struct {
	location *time.Location  // calendar days are counted here
	active   map[string]bool // nil: every usage event is activity
}

func (s settings) isActive(name string) bool { return s.active == nil || s.active[name] }

func loadSettings(ctx context.Context, tx *sql.Tx, projectID int) (settings, error) {
	var (
		s        settings
		timezone string
		active   []byte
	)
	err := tx.QueryRowContext(ctx, `SELECT timezone, active_events FROM projects WHERE id = $1`, projectID).Scan(&timezone, &active)
	if err != nil {
		return s, fmt.Errorf("load project %d: %w", projectID, err)
	}
	if s.location, err = time.LoadLocation(timezone); err != nil {
		return s, fmt.Errorf("project %d time zone %q: %w", projectID, timezone, err)
	}
	var names []string
	if len(active) > 0 {
		if err := json.Unmarshal(active, &names); err != nil {
			return s, fmt.Errorf("project %d active events: %w", projectID, err)
		}
	}
	if len(names) > 0 {
		s.active = make(map[string]bool, len(names))
		for _, n := range names {
			s.active[n] = true
		}
	}
	return s, nil
}

// resolveUsers maps every message to its user id, creating users and
// identities as needed and merging anonymous histories on identification.
func resolveUsers(ctx context.Context, r *resolver, batch []*prepared) (func(*prepared) (int, error), error) {
	var externalIDs, anonymousIDs []string
	for _, p := range batch {
		if p.UserID != "" {
			externalIDs = append(externalIDs, p.UserID)
		}
		if p.AnonymousID != "" {
			anonymousIDs = append(anonymousIDs, p.AnonymousID)
		}
		if p.Type == TypeAlias {
			anonymousIDs = append(anonymousIDs, p.PreviousID)
		}
	}
	if err := r.upsertKnown(ctx, externalIDs); err != nil {
		return nil, err
	}
	if err := r.lookupAnonymous(ctx, anonymousIDs); err != nil {
		return nil, err
	}
	for _, p := range batch {
		switch {
		case p.Type == TypeAlias:
			if err := r.alias(ctx, p.PreviousID, r.byExtID[p.UserID]); err != nil {
				return nil, err
			}
		case p.UserID != "" && p.AnonymousID != "":
			if err := r.identify(ctx, p.AnonymousID, r.byExtID[p.UserID]); err != nil {
				return nil, err
			}
		}
	}
	userOf := func(p *prepared) (int, error) {
		if p.UserID != "" {
			return r.byExtID[p.UserID], nil
		}
		return r.anonymousUser(ctx, p.AnonymousID)
	}
	return userOf, nil
}

// applyProfiles merges identify traits (later calls win) and group ids into
// the users' traits. Profiles never move first/last seen or counts.
func applyProfiles(ctx context.Context, tx *sql.Tx, r *resolver, batch []*prepared) error {
	traits := map[int]map[string]any{}
	for _, p := range batch {
		var update map[string]any
		switch p.Type {
		case TypeIdentify:
			update = p.traits
		case TypeGroup:
			update = map[string]any{"groupId": p.GroupID}
		default:
			continue
		}
		if len(update) == 0 {
			continue
		}
		id := r.byExtID[p.UserID]
		if p.UserID == "" {
			var err error
			if id, err = r.anonymousUser(ctx, p.AnonymousID); err != nil {
				return err
			}
		}
		if traits[id] == nil {
			traits[id] = map[string]any{}
		}
		for k, v := range update {
			traits[id][k] = v
		}
	}
	if len(traits) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(traits))
	for id := range traits {
		ids = append(ids, int64(id))
	}
	slices.Sort(ids)
	docs := make([]string, len(ids))
	for i, id := range ids {
		b, err := json.Marshal(traits[int(id)])
		if err != nil {
			return fmt.Errorf("encode traits: %w", err)
		}
		docs[i] = string(b)
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE users u SET traits = COALESCE(u.traits, '{}'::jsonb) || v.traits, updated_at = now()
		FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::jsonb[]) AS traits) v
		WHERE u.id = v.id AND u.project_id = $3`, pq.Array(ids), pq.Array(docs), r.projectID)
	if err != nil {
		return fmt.Errorf("merge traits: %w", staleIfMissingUser(err))
	}
	return expectRows(res, len(ids))
}

// expectRows returns errStaleUser when an update of n users touched fewer:
// one of them no longer exists.
func expectRows(res sql.Result, n int) error {
	affected, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	if int(affected) != n {
		return errStaleUser
	}
	return nil
}

// staleIfMissingUser turns a foreign-key violation (a row pointing at a user
// that is gone) into errStaleUser.
func staleIfMissingUser(err error) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23503" {
		return errStaleUser
	}
	return err
}
