package ingest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pulse-analytics/pulse/internal/dirty"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/partition"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Writer stores batches of messages. Each batch is one transaction: its
// events, the users and identities they need, and the rollups they move
// (users' counts and first/last seen, daily activity) commit together or not
// at all, so a client's retry after a failure is safe (message ids dedup).
type Writer struct {
	db       *sql.DB
	now      func() time.Time
	users    *userCache
	settings *settingsCache
	stmts    *statements
}

// NewWriter returns a Writer over db.
func NewWriter(db *sql.DB) *Writer {
	return &Writer{db: db, now: time.Now, users: newUserCache(), settings: newSettingsCache(), stmts: newStatements(db)}
}

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
	// One array holds the batch's messages (never reallocated: its
	// capacity is the batch's), so a batch is a few allocations, not one
	// per message.
	valid := make([]prepared, 0, len(msgs))
	batch := make([]*prepared, 0, len(msgs))
	seen := make(map[string]bool, len(msgs))
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
		valid = append(valid, p)
		batch = append(batch, &valid[len(valid)-1])
	}
	if len(batch) == 0 {
		return res, nil
	}
	if err := w.stmts.prepare(ctx); err != nil {
		return Result{}, err
	}
	store := func(part []*prepared) (outcome, error) {
		return w.storeRetrying(ctx, scope.ProjectID, part, receivedAt)
	}
	out, err := store(batch)
	if refusedValue(err) {
		err = isolate(batch, err, store, &res)
	}
	if err != nil {
		return Result{}, err
	}
	out.addTo(&res)
	// Rejections are found before and while storing: in index order, as
	// the messages came.
	slices.SortStableFunc(res.Rejected, func(a, b Rejection) int { return a.Index - b.Index })
	return res, nil
}

// outcome is what storing a part of a batch did with its messages.
type outcome struct {
	accepted, duplicates int
	// suppressed were dropped: they name an id the project suppressed.
	suppressed int
	// rejected are the usage events older than the project's retention.
	rejected []Rejection
}

func (o outcome) addTo(res *Result) {
	res.Accepted += o.accepted
	res.Duplicates += o.duplicates
	res.Suppressed += o.suppressed
	res.Rejected = append(res.Rejected, o.rejected...)
}

// storeOptions say how one attempt at a batch goes.
type storeOptions struct {
	// useCache resolves known users from memory.
	useCache bool
	// skipKnown inserts the events skipping message ids the project has,
	// instead of COPYing them all.
	skipKnown bool
}

// maxSettingsRetries bounds how often a batch is written again because the
// project's settings changed under it; maxDeadlockRetries, because
// PostgreSQL chose it as the victim of a deadlock; maxStaleRetries, because
// a user it resolved was gone by the time it wrote (merged, or erased: a
// batch naming users that erasures are taking away one after the other
// may find another gone on each attempt).
const (
	maxSettingsRetries = 3
	maxDeadlockRetries = 3
	maxStaleRetries    = 5
)

// storeRetrying stores batch, first the fast way: users and settings from
// memory and the events COPYed. A resolved user that no longer exists
// makes it try again without the user cache; settings changed since they
// were remembered, again with the new ones; a message id the project has (a
// client's retry), again skipping known ids; a deadlock with another
// batch, again as it was; an event of a month events has no partition for
// yet, again once that partition is made. Each attempt is a whole
// transaction, so a failed one leaves nothing behind.
func (w *Writer) storeRetrying(ctx context.Context, projectID int, batch []*prepared, receivedAt time.Time) (out outcome, err error) {
	opts := storeOptions{useCache: true}
	partitionsMade := false
	for settingsRetries, deadlockRetries, staleRetries := 0, 0, 0; ; {
		out, err = w.store(ctx, projectID, batch, receivedAt, opts)
		switch {
		case isDeadlock(err) && deadlockRetries < maxDeadlockRetries:
			deadlockRetries++
		case errors.Is(err, errStaleUser) && staleRetries < maxStaleRetries:
			w.users.forget(projectID)
			opts.useCache = false
			staleRetries++
		case errors.Is(err, errStaleSettings) && settingsRetries < maxSettingsRetries:
			w.settings.forget(projectID)
			settingsRetries++
		case errors.Is(err, errKnownMessage) && !opts.skipKnown:
			opts.skipKnown = true
		case errors.Is(err, errNoPartition) && !partitionsMade:
			// Timestamps are at most a day ahead, and the maintenance job
			// makes the months ahead: a missing month is the next one
			// before the job's first run, or one of the past, when Pulse
			// was not running for months.
			if _, err := partition.EnsureMonths(ctx, w.db, usageTimes(batch)); err != nil {
				return out, fmt.Errorf("make the partitions of a batch: %w", err)
			}
			partitionsMade = true
		default:
			return out, err
		}
	}
}

// store writes batch in one transaction, but for the messages that name
// a suppressed id, which are dropped, and the usage events older than the
// project's retention, which are rejected (the settings check of rollUp
// makes sure the suppressions and the retention were current).
func (w *Writer) store(ctx context.Context, projectID int, batch []*prepared, receivedAt time.Time, opts storeOptions) (outcome, error) {
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return outcome{}, fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close() }()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return outcome{}, fmt.Errorf("begin batch: %w", err)
	}
	defer func() { _ = sqlTx.Rollback() }()
	tx := dbtx{Tx: sqlTx, conn: conn, stmts: w.stmts}

	settings, err := w.settings.get(ctx, tx, projectID)
	if err != nil {
		return outcome{}, err
	}
	batch, suppressed := withoutSuppressed(batch, settings.suppressed)
	batch, expired := withoutExpired(batch, settings, receivedAt)
	// Profile messages first, in time order, so that a track following an
	// identify in the same batch lands on the identified user.
	sort.SliceStable(batch, func(i, j int) bool { return batch[i].at.Before(batch[j].at) })
	r := newResolver(tx, projectID)
	if opts.useCache {
		r.cache = w.users
	}
	userOf, err := resolveUsers(ctx, r, batch)
	if err != nil {
		return outcome{}, err
	}
	traits, err := profileTraits(ctx, r, batch)
	if err != nil {
		return outcome{}, err
	}
	stored, usage, err := insertEvents(ctx, tx, projectID, batch, userOf, receivedAt, opts.skipKnown)
	if err != nil {
		return outcome{}, err
	}
	if err := rollUp(ctx, tx, projectID, settings, stored, traits); err != nil {
		return outcome{}, err
	}
	if err := dirty.Mark(ctx, tx, projectID, changesOf(r, stored, batch)); err != nil {
		return outcome{}, err
	}
	if err := sqlTx.Commit(); err != nil {
		return outcome{}, fmt.Errorf("commit batch: %w", err)
	}
	if r.merged {
		w.users.forget(projectID)
	} else {
		w.users.remember(projectID, r.byExtID)
	}
	profiles := len(batch) - usage
	return outcome{accepted: len(stored) + profiles, duplicates: usage - len(stored), suppressed: suppressed, rejected: expired}, nil
}

// usageTimes are the timestamps of the batch's usage messages.
func usageTimes(batch []*prepared) []time.Time {
	times := make([]time.Time, 0, len(batch))
	for _, p := range batch {
		if _, ok := eventName(p); ok {
			times = append(times, p.at)
		}
	}
	return times
}

// withoutSuppressed returns the messages of batch that name no suppressed
// id (as user, anonymous or previous id) and how many it left out. With
// nothing suppressed it is batch itself, at no cost.
func withoutSuppressed(batch []*prepared, suppressed privacy.Suppressions) ([]*prepared, int) {
	if suppressed.Empty() {
		return batch, 0
	}
	kept := make([]*prepared, 0, len(batch))
	for _, p := range batch {
		if !suppressed.Has(p.UserID) && !suppressed.Has(p.AnonymousID) && !suppressed.Has(p.PreviousID) {
			kept = append(kept, p)
		}
	}
	return kept, len(batch) - len(kept)
}

// changesOf is what a stored batch changed for real-time segments: the
// users it created or merged, the events it stored (by name, and as any
// event) and the traits its profile calls set.
func changesOf(r *resolver, stored []eventRow, batch []*prepared) *dirty.Changes {
	changes := r.changes
	type change struct {
		user int64
		key  string
	}
	seen := map[change]bool{}
	add := func(user int64, key string) {
		if c := (change{user, key}); !seen[c] {
			seen[c] = true
			changes.Add(user, key)
		}
	}
	for _, e := range stored {
		add(e.userID, dirty.AnyEvent())
		add(e.userID, dirty.Event(e.name))
	}
	for _, p := range batch {
		var user int
		switch {
		case p.Type != TypeIdentify && p.Type != TypeGroup:
			continue
		case p.UserID != "":
			user = r.byExtID[p.UserID]
		default:
			user = r.byAnonID[p.AnonymousID]
		}
		if p.Type == TypeGroup {
			add(int64(user), dirty.Trait("groupId"))
		}
		for key := range p.traits {
			add(int64(user), dirty.Trait(key))
		}
	}
	return &changes
}

// resolveUsers maps every message to its user id, creating users and
// identities as needed and merging anonymous histories on identification.
func resolveUsers(ctx context.Context, r *resolver, batch []*prepared) (func(*prepared) (int, error), error) {
	var externalIDs, anonymousIDs, previousIDs []string
	for _, p := range batch {
		if p.UserID != "" {
			externalIDs = append(externalIDs, p.UserID)
		}
		if p.AnonymousID != "" {
			anonymousIDs = append(anonymousIDs, p.AnonymousID)
		}
		if p.Type == TypeAlias {
			previousIDs = append(previousIDs, p.PreviousID)
		}
	}
	if err := r.lookupAnonymous(ctx, append(anonymousIDs, previousIDs...)); err != nil {
		return nil, err
	}
	// An alias's previous id that is no anonymous id is a user's, found or
	// created; one that is may be a known user's too (see alias).
	var anonymousPrevious []string
	for _, id := range previousIDs {
		if _, anonymous := r.byAnonID[id]; anonymous {
			anonymousPrevious = append(anonymousPrevious, id)
		} else {
			externalIDs = append(externalIDs, id)
		}
	}
	if err := r.upsertKnown(ctx, externalIDs); err != nil {
		return nil, err
	}
	if err := r.lookupKnown(ctx, anonymousPrevious); err != nil {
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

// profileTraits merges the identify traits (later calls win) and group ids
// of a batch per user, as JSON objects for rollUp to merge into the users'
// traits. Profiles never move first/last seen or counts.
func profileTraits(ctx context.Context, r *resolver, batch []*prepared) (map[int64]string, error) {
	traits := map[int64]map[string]any{}
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
				return nil, err
			}
		}
		if traits[int64(id)] == nil {
			traits[int64(id)] = map[string]any{}
		}
		maps.Copy(traits[int64(id)], update)
	}
	docs := make(map[int64]string, len(traits))
	for id, t := range traits {
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("encode traits: %w", err)
		}
		docs[id] = string(b)
	}
	return docs, nil
}

// sqlState is PostgreSQL's error code in err, "" when there is none.
func sqlState(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return string(pqErr.Code)
	}
	return ""
}

// isDeadlock reports whether PostgreSQL aborted the transaction to break a
// deadlock.
func isDeadlock(err error) bool { return sqlState(err) == "40P01" }

// staleIfMissingUser turns a foreign-key violation (a row pointing at a user
// that is gone) into errStaleUser.
func staleIfMissingUser(err error) error {
	if sqlState(err) == "23503" {
		return errStaleUser
	}
	return err
}
