package ingest_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// writerBundle is a Writer over the package database and a project of the
// test's own, with an INGEST-scoped context.
type writerBundle struct {
	db        *sql.DB
	writer    *ingest.Writer
	projectID int
	ctx       context.Context
}

func setupWriter(t *testing.T) *writerBundle {
	t.Helper()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	ctx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleIngest})
	return &writerBundle{db: db, writer: ingest.NewWriter(db), projectID: created.Project.ID, ctx: ctx}
}

func (b *writerBundle) write(t *testing.T, msgs ...ingest.Message) ingest.Result {
	t.Helper()
	res, err := b.writer.Write(b.ctx, msgs)
	require.NoError(t, err)
	return res
}

// userRow is a user's stored profile and rollups.
type userRow struct {
	ID         int
	ExternalID sql.NullString
	EventCount int
	FirstSeen  sql.NullTime
	LastSeen   sql.NullTime
	Traits     string
}

func (b *writerBundle) user(t *testing.T, externalID string) userRow {
	t.Helper()
	var u userRow
	err := b.db.QueryRow(`SELECT id, external_id, event_count, first_seen_at, last_seen_at, COALESCE(traits::text, '{}')
		FROM users WHERE project_id = $1 AND external_id = $2`, b.projectID, externalID).
		Scan(&u.ID, &u.ExternalID, &u.EventCount, &u.FirstSeen, &u.LastSeen, &u.Traits)
	require.NoError(t, err, "user %s", externalID)
	return u
}

func (b *writerBundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.QueryRow(query, append([]any{b.projectID}, args...)...).Scan(&n))
	return n
}

func track(user, event, messageID string, at time.Time) ingest.Message {
	return ingest.Message{Type: ingest.TypeTrack, UserID: user, Event: event, MessageID: messageID, Timestamp: at,
		Properties: map[string]any{"plan": "pro", "n": 1}}
}

func TestWriteTrackAndRetry(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	// Early in a day two days ago, so that the events, hours apart, fall
	// on one day whatever the time of the run.
	day := time.Now().UTC().Add(-48 * time.Hour).Truncate(24 * time.Hour).Add(time.Hour)
	msgs := []ingest.Message{
		track("ann", "export", "m1", day),
		track("ann", "export", "m2", day.Add(time.Hour)),
		track("bob", "login", "m3", day.Add(2*time.Hour)),
		{Type: ingest.TypePage, UserID: "ann", Name: "Pricing", MessageID: "m4", Timestamp: day.Add(3 * time.Hour),
			Context: ingest.Context{UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}},
	}
	before := time.Now()
	res := b.write(t, msgs...)
	require.Equal(t, ingest.Result{Accepted: 4}, res)
	require.Equal(t, 4, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1 AND received_at BETWEEN $2 AND $3`,
		before.Add(-time.Millisecond), time.Now()), "received_at is the time of the write")

	ann := b.user(t, "ann")
	require.Equal(t, 3, ann.EventCount)
	require.Equal(t, day, ann.FirstSeen.Time.UTC())
	require.Equal(t, day.Add(3*time.Hour), ann.LastSeen.Time.UTC())
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1 AND name = '$page' AND platform = 'MOBILE' AND properties->>'name' = 'Pricing'`))
	require.Equal(t, 3, b.count(t, `SELECT events FROM user_daily_activities WHERE project_id = $1 AND user_id = $2`, ann.ID))
	require.Equal(t, 1, b.count(t, `SELECT mobile_events FROM user_daily_activities WHERE project_id = $1 AND user_id = $2`, ann.ID))

	res = b.write(t, msgs...)
	require.Equal(t, ingest.Result{Duplicates: 4}, res, "a retried batch stores nothing twice")
	require.Equal(t, 3, b.user(t, "ann").EventCount)
	require.Equal(t, 4, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1`))
}

// TestConcurrentRetries races identical batches: each event is stored once
// and counted once.
func TestConcurrentRetries(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().Add(-time.Hour)
	var msgs []ingest.Message
	for i := range 50 {
		msgs = append(msgs, track(fmt.Sprintf("u%d", i%7), "export", fmt.Sprintf("race-%d", i), at))
		msgs = append(msgs, ingest.Message{Type: ingest.TypeTrack, AnonymousID: fmt.Sprintf("anon-%d", i%5), Event: "view",
			MessageID: fmt.Sprintf("race-anon-%d", i), Timestamp: at})
	}
	const retries = 4
	results := make([]ingest.Result, retries)
	errs := make([]error, retries)
	var wg sync.WaitGroup
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = b.writer.Write(b.ctx, msgs)
		}()
	}
	wg.Wait()
	accepted := 0
	for i := range retries {
		require.NoError(t, errs[i])
		accepted += results[i].Accepted
		require.Equal(t, len(msgs), results[i].Accepted+results[i].Duplicates)
	}
	require.Equal(t, len(msgs), accepted, "exactly one retry stored each event")
	require.Equal(t, 100, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1`))
	require.Equal(t, 100, b.count(t, `SELECT sum(event_count) FROM users WHERE project_id = $1`))
	require.Equal(t, 12, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1`), "7 known and 5 anonymous users, none twice")
	require.Equal(t, 5, b.count(t, `SELECT count(*) FROM identities WHERE project_id = $1`))
}

// TestPartialBatch documents the rule: invalid messages are rejected one by
// one, with their index and field, and the valid ones are stored.
func TestPartialBatch(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().Add(-time.Minute)
	res := b.write(t,
		track("ann", "export", "ok-1", at),
		ingest.Message{Type: ingest.TypeTrack, UserID: "ann", MessageID: "no-name", Timestamp: at},
		ingest.Message{Type: ingest.TypeTrack, Event: "export", MessageID: "nobody", Timestamp: at},
		ingest.Message{Type: "purchase", UserID: "ann", MessageID: "bad-type"},
		track("ann", "export", "future", time.Now().Add(48*time.Hour)),
		track("bob", "export", "ok-2", at),
	)
	require.Equal(t, 2, res.Accepted)
	require.Equal(t, []ingest.Rejection{
		{Index: 1, MessageID: "no-name", Field: "event", Reason: "track needs an event name"},
		{Index: 2, MessageID: "nobody", Field: "userId", Reason: "userId or anonymousId is required"},
		{Index: 3, MessageID: "bad-type", Field: "type", Reason: `unknown type "purchase" (want track, page, screen, identify, group or alias)`},
		{Index: 4, MessageID: "future", Field: "timestamp", Reason: res.Rejected[3].Reason},
	}, res.Rejected)
	require.Contains(t, res.Rejected[3].Reason, "in the future")
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1`))
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	// The client's clock is two hours fast: it stamped the event at 12:00
	// and sent it at 12:05 by its clock. Pulse keeps the five minutes.
	clientEvent := time.Now().Add(2 * time.Hour)
	sent := clientEvent.Add(5 * time.Minute)
	m := track("ann", "export", "skewed", clientEvent)
	m.SentAt = sent
	before := time.Now()
	b.write(t, m)
	after := time.Now()
	var stored time.Time
	require.NoError(t, b.db.QueryRow(`SELECT timestamp FROM events WHERE project_id = $1`, b.projectID).Scan(&stored))
	require.WithinRange(t, stored, before.Add(-5*time.Minute-time.Second), after.Add(-5*time.Minute+time.Second))
}

// TestIdentifyMergesAnonymousHistory: a visitor browses anonymously, then
// signs up; the anonymous history becomes the known user's.
func TestIdentifyMergesAnonymousHistory(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	// Early in a day, so that events an hour apart fall on one day whatever
	// the time of the run.
	start := time.Now().Add(-10 * 24 * time.Hour).UTC().Truncate(24 * time.Hour).Add(time.Hour)
	b.write(t,
		ingest.Message{Type: ingest.TypePage, AnonymousID: "visitor-1", MessageID: "a1", Timestamp: start},
		ingest.Message{Type: ingest.TypeTrack, AnonymousID: "visitor-1", Event: "pricing_viewed", MessageID: "a2", Timestamp: start.Add(time.Hour)},
		ingest.Message{Type: ingest.TypeIdentify, AnonymousID: "visitor-1", Traits: map[string]any{"source": "ads"}, MessageID: "a3", Timestamp: start.Add(time.Hour)},
	)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id IS NULL`))

	// Signing up, days later, in another batch; then usage as the known user.
	b.write(t,
		ingest.Message{Type: ingest.TypeIdentify, UserID: "ann", AnonymousID: "visitor-1", Traits: map[string]any{"email": "ann@example.com"}, MessageID: "k1", Timestamp: start.Add(72 * time.Hour)},
		track("ann", "export", "k2", start.Add(73*time.Hour)),
	)
	ann := b.user(t, "ann")
	require.Equal(t, 3, ann.EventCount, "two anonymous events and one known")
	require.Equal(t, start, ann.FirstSeen.Time.UTC(), "first seen is the anonymous visit")
	require.JSONEq(t, `{"source":"ads","email":"ann@example.com"}`, ann.Traits)
	require.Zero(t, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id IS NULL`), "the anonymous user is merged away")
	require.Equal(t, 3, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1 AND user_id = $2`, ann.ID))
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM user_daily_activities WHERE project_id = $1 AND user_id = $2`, ann.ID))

	// Later anonymous events under the same id land on ann.
	b.write(t, ingest.Message{Type: ingest.TypeTrack, AnonymousID: "visitor-1", Event: "export", MessageID: "k3", Timestamp: start.Add(74 * time.Hour)})
	require.Equal(t, 4, b.user(t, "ann").EventCount)
}

func TestIdentifyDoesNotMoveActivity(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	old := time.Now().Add(-40 * 24 * time.Hour).UTC().Truncate(time.Second)
	b.write(t, track("ann", "export", "old", old))
	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "ann", Traits: map[string]any{"plan": "pro"}, MessageID: "now"},
		ingest.Message{Type: ingest.TypeGroup, UserID: "ann", GroupID: "acme", MessageID: "grp"})
	ann := b.user(t, "ann")
	require.Equal(t, 1, ann.EventCount)
	require.Equal(t, old, ann.LastSeen.Time.UTC(), "identify is not usage: ann is still dormant")
	require.JSONEq(t, `{"plan":"pro","groupId":"acme"}`, ann.Traits)
}

func TestAliasMergesKnownUsers(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	b.write(t, track("old-id", "export", "o1", at), track("new-id", "login", "n1", at.Add(time.Minute)))
	b.write(t, ingest.Message{Type: ingest.TypeAlias, UserID: "new-id", PreviousID: "old-id", MessageID: "al"})
	require.Equal(t, 2, b.user(t, "new-id").EventCount)
	require.Zero(t, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id = 'old-id'`))

	// The merged id stays new-id's: a late message under it is not a new user.
	b.write(t, track("old-id", "export", "o2", at.Add(2*time.Minute)))
	require.Equal(t, 3, b.user(t, "new-id").EventCount)
	require.Zero(t, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id = 'old-id'`))

	// An alias from an id never seen (SDKs send batches concurrently, so it
	// may come first) remembers it for later messages, anonymous or not.
	b.write(t, ingest.Message{Type: ingest.TypeAlias, UserID: "new-id", PreviousID: "device-9", MessageID: "al2"})
	b.write(t, ingest.Message{Type: ingest.TypeTrack, AnonymousID: "device-9", Event: "x", MessageID: "d1", Timestamp: at})
	b.write(t, ingest.Message{Type: ingest.TypeAlias, UserID: "new-id", PreviousID: "legacy-7", MessageID: "al3"})
	b.write(t, track("legacy-7", "login", "l1", at))
	require.Equal(t, 5, b.user(t, "new-id").EventCount)
	require.Zero(t, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id IN ('device-9', 'legacy-7')`))

	// An anonymous visitor's id is not a known user's name: a userId equal
	// to it is a known user of its own, until an identify or alias says so.
	b.write(t, ingest.Message{Type: ingest.TypeTrack, AnonymousID: "visitor-3", Event: "x", MessageID: "v1", Timestamp: at})
	b.write(t, track("visitor-3", "login", "v2", at))
	require.Equal(t, 1, b.user(t, "visitor-3").EventCount)
}

// TestAliasRacesFirstMessages: SDKs flush batches concurrently, so an alias
// can be written while the first messages under its previous id are. Each
// pair starts together, from two writers (two processes); whatever the
// interleaving, the previous id ends up a name of the aliased user, never a
// user of its own.
func TestAliasRacesFirstMessages(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	other := ingest.NewWriter(b.db)
	at := time.Now().Add(-time.Hour)
	const pairs = 30
	for i := range pairs {
		b.write(t, track(fmt.Sprintf("main-%d", i), "signup", fmt.Sprintf("m-%d", i), at))
	}
	errs := make([]error, 2*pairs)
	var wg sync.WaitGroup
	for i := range pairs {
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, errs[2*i] = b.writer.Write(b.ctx, []ingest.Message{track(fmt.Sprintf("prev-%d", i), "login", fmt.Sprintf("p-%d", i), at)})
		}()
		go func() {
			defer wg.Done()
			<-start
			_, errs[2*i+1] = other.Write(b.ctx, []ingest.Message{{Type: ingest.TypeAlias, UserID: fmt.Sprintf("main-%d", i),
				PreviousID: fmt.Sprintf("prev-%d", i), MessageID: fmt.Sprintf("a-%d", i)}})
		}()
		close(start)
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id LIKE 'prev-%'`),
		"no previous id is a user of its own")
	for i := range pairs {
		require.Equal(t, 2, b.user(t, fmt.Sprintf("main-%d", i)).EventCount, "main-%d has its previous id's event", i)
	}
}

func TestDaysFollowProjectTimezone(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	_, err := b.db.Exec(`UPDATE projects SET timezone = 'America/New_York', active_events = '["export"]' WHERE id = $1`, b.projectID)
	require.NoError(t, err)
	// 03:00 UTC on June 2nd is 23:00 on June 1st in New York.
	at := time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC)
	b.write(t, track("ann", "export", "tz1", at), track("ann", "login", "tz2", at))
	var day string
	require.NoError(t, b.db.QueryRow(`SELECT day::text FROM user_daily_activities WHERE project_id = $1`, b.projectID).Scan(&day))
	require.Equal(t, "2026-06-01", day)
	require.Equal(t, 1, b.count(t, `SELECT events FROM user_daily_activities WHERE project_id = $1`), "only active events count as activity")
	require.Equal(t, 2, b.user(t, "ann").EventCount, "every usage event counts for the user")
}

// TestSettingsChangeBetweenBatches: the writer remembers a project's time
// zone and active events; a change is seen by the next batch all the same.
func TestSettingsChangeBetweenBatches(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	// 03:00 UTC on June 2nd is 23:00 on June 1st in New York.
	at := time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC)
	b.write(t, track("ann", "export", "st1", at), track("ann", "login", "st2", at))
	_, err := b.db.Exec(`UPDATE projects SET timezone = 'America/New_York', active_events = '["export"]' WHERE id = $1`, b.projectID)
	require.NoError(t, err)
	b.write(t, track("bob", "export", "st3", at), track("bob", "login", "st4", at))

	days := func(user string) string {
		var got string
		require.NoError(t, b.db.QueryRow(`SELECT string_agg(day::text || '=' || events, ',') FROM user_daily_activities
			WHERE project_id = $1 AND user_id = $2`, b.projectID, b.user(t, user).ID).Scan(&got))
		return got
	}
	require.Equal(t, "2026-06-02=2", days("ann"), "UTC, every event active")
	require.Equal(t, "2026-06-01=1", days("bob"), "New York, only exports active")
}

// TestRollupsMatchRecount ingests a random workload in random batches, with
// retries and identity merges, and recounts every rollup from raw events.
func TestRollupsMatchRecount(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Now().UTC()
	var all []ingest.Message
	for i := range 600 {
		at := now.Add(-time.Duration(rng.IntN(30*24)) * time.Hour)
		user := fmt.Sprintf("user-%d", rng.IntN(40))
		m := track(user, []string{"export", "login", "share"}[rng.IntN(3)], fmt.Sprintf("w-%d", i), at)
		switch rng.IntN(6) {
		case 0:
			m.UserID, m.AnonymousID = "", fmt.Sprintf("anon-%d", rng.IntN(15))
		case 1:
			m = ingest.Message{Type: ingest.TypeIdentify, UserID: user, AnonymousID: fmt.Sprintf("anon-%d", rng.IntN(15)), MessageID: fmt.Sprintf("w-%d", i), Timestamp: at}
		case 2:
			m.Context.DeviceType = "mobile"
		}
		all = append(all, m)
	}
	for len(all) > 0 {
		n := min(len(all), 1+rng.IntN(80))
		batch := all[:n]
		b.write(t, batch...)
		if rng.IntN(3) == 0 {
			b.write(t, batch...) // a retry
		}
		all = all[n:]
	}

	mismatches := b.count(t, `
		SELECT count(*) FROM users u
		LEFT JOIN (SELECT user_id, count(*) n, min(timestamp) f, max(timestamp) l FROM events WHERE project_id = $1 GROUP BY user_id) e
		  ON e.user_id = u.id
		WHERE u.project_id = $1 AND (u.event_count <> COALESCE(e.n, 0)
		   OR u.first_seen_at IS DISTINCT FROM e.f OR u.last_seen_at IS DISTINCT FROM e.l)`)
	require.Zero(t, mismatches, "users' counts and first/last seen equal a recount")
	dailyMismatches := b.count(t, `
		WITH recount AS (
			SELECT user_id, (timestamp AT TIME ZONE 'UTC')::date AS day, count(*) n,
			       count(*) FILTER (WHERE platform = 'MOBILE') m
			FROM events WHERE project_id = $1 GROUP BY 1, 2)
		SELECT count(*) FROM recount r FULL JOIN (SELECT * FROM user_daily_activities WHERE project_id = $1) d
		  ON d.user_id = r.user_id AND d.day = r.day
		WHERE r.n IS DISTINCT FROM d.events OR r.m IS DISTINCT FROM d.mobile_events`)
	require.Zero(t, dailyMismatches, "daily activity equals a recount")
	require.Zero(t, b.count(t, `SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id WHERE e.project_id = $1 AND u.project_id <> $1`))
}

func TestWriteNeedsAScope(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	_, err := b.writer.Write(context.Background(), []ingest.Message{track("ann", "x", "y", time.Now())})
	require.ErrorIs(t, err, tenant.ErrNoTenant)
}

// TestStaleRememberedUser: a writer remembers ann's user id; another process
// merges ann away (alias). The next batch for ann through the first writer
// finds its memory stale, retries, and lands on anna.
func TestStaleRememberedUser(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	other := ingest.NewWriter(b.db) // another process
	at := time.Now().Add(-time.Hour)
	b.write(t, track("ann", "export", "s1", at))
	_, err := other.Write(b.ctx, []ingest.Message{{Type: ingest.TypeAlias, UserID: "anna", PreviousID: "ann", MessageID: "s2"}})
	require.NoError(t, err)

	res := b.write(t, track("ann", "export", "s3", at.Add(time.Minute)))
	require.Equal(t, 1, res.Accepted)
	require.Equal(t, 2, b.user(t, "anna").EventCount, "the merged history and the new event: ann is a name of anna's")
	require.Zero(t, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id = 'ann'`))
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id WHERE e.project_id = $1`),
		"no event points at a deleted user")
}

// TestRetryWithNewMessages: a batch holding both stored and new messages (a
// client's retry merged with what it queued since) stores only the new ones
// and counts only them: the COPY refuses the known id, and the batch is
// written again skipping known ids, in a new transaction.
func TestRetryWithNewMessages(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	require.Equal(t, ingest.Result{Accepted: 2}, b.write(t, track("ann", "export", "r1", at), track("bob", "export", "r2", at)))

	res := b.write(t, track("ann", "export", "r2", at), track("ann", "export", "r3", at.Add(time.Minute)),
		track("cat", "login", "r4", at.Add(2*time.Minute)))
	require.Equal(t, ingest.Result{Accepted: 2, Duplicates: 1}, res)

	require.Equal(t, 2, b.user(t, "ann").EventCount)
	require.Equal(t, at.Add(time.Minute), b.user(t, "ann").LastSeen.Time.UTC())
	require.Equal(t, 1, b.user(t, "bob").EventCount, "r2 is bob's, however the retry names it")
	require.Equal(t, 1, b.user(t, "cat").EventCount)
	require.Equal(t, 4, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1`))
	require.Equal(t, 4, b.count(t, `SELECT sum(events) FROM user_daily_activities WHERE project_id = $1`))
}

// TestConcurrentBatchesShareUsers writes distinct batches over the same
// users and days at once, each listing the users in its own order, with
// identify calls among the tracks: they queue on the users' rows rather
// than deadlock, and every count adds up.
func TestConcurrentBatchesShareUsers(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	day := time.Now().UTC().Add(-24 * time.Hour).Truncate(24 * time.Hour)
	const writers, users, perBatch = 6, 30, 60
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for batch := range 5 {
				msgs := make([]ingest.Message, perBatch, perBatch+1)
				for i := range msgs {
					user := fmt.Sprintf("shared-%d", rng.IntN(users))
					msgs[i] = track(user, "export", fmt.Sprintf("c-%d-%d-%d", w, batch, i), day.Add(time.Duration(rng.IntN(48))*time.Hour))
				}
				msgs = append(msgs, ingest.Message{Type: ingest.TypeIdentify, UserID: fmt.Sprintf("shared-%d", rng.IntN(users)),
					MessageID: fmt.Sprintf("c-%d-%d-identify", w, batch), Traits: map[string]any{"writer": w}})
				if _, err := b.writer.Write(b.ctx, msgs); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	const total = writers * 5 * perBatch
	require.Equal(t, total, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1`))
	require.Equal(t, total, b.count(t, `SELECT sum(event_count) FROM users WHERE project_id = $1`))
	require.Equal(t, total, b.count(t, `SELECT sum(events) FROM user_daily_activities WHERE project_id = $1`))
	require.Zero(t, b.count(t, `
		SELECT count(*) FROM users u JOIN (SELECT user_id, count(*) n FROM events WHERE project_id = $1 GROUP BY 1) e ON e.user_id = u.id
		WHERE u.project_id = $1 AND u.event_count <> e.n`))
	require.Positive(t, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND traits ? 'writer'`))
}

// TestDeadlockVictimIsRetried: a batch that PostgreSQL aborts to break a
// deadlock is written again and loses nothing. Another transaction holds
// bob's row and, once the batch holds ann's and waits for bob's, asks for
// ann's: a cycle. A backend looks for a cycle once, deadlock_timeout after
// it starts to wait: the batch's connections look after half a second,
// when the cycle is there, and that transaction only after 30 s, so the
// batch is the victim.
func TestDeadlockVictimIsRetried(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	u, err := url.Parse(pgtest.DSN(t))
	require.NoError(t, err)
	q := u.Query()
	q.Set("deadlock_timeout", "500ms") // lib/pq sends unknown parameters as settings
	u.RawQuery = q.Encode()
	writerDB, err := sql.Open("postgres", u.String())
	require.NoError(t, err)
	defer writerDB.Close()
	b.writer = ingest.NewWriter(writerDB)
	at := time.Now().Add(-time.Hour)
	b.write(t, track("ann", "export", "d1", at), track("bob", "export", "d2", at))
	ann, bob := b.user(t, "ann").ID, b.user(t, "bob").ID
	require.Less(t, ann, bob, "the batch locks ann first")

	ctx := context.Background()
	holder, err := b.db.Conn(ctx)
	require.NoError(t, err)
	defer holder.Close()
	tx, err := holder.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	var holderPID int
	require.NoError(t, tx.QueryRow(`SELECT pg_backend_pid()`).Scan(&holderPID))
	_, err = tx.Exec(`SET LOCAL deadlock_timeout = '30s'`)
	require.NoError(t, err)
	_, err = tx.Exec(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, bob)
	require.NoError(t, err)

	written := make(chan error, 1)
	go func() {
		_, err := b.writer.Write(b.ctx, []ingest.Message{track("ann", "export", "d3", at), track("bob", "export", "d4", at)})
		written <- err
	}()
	// The batch holds ann and waits for bob once a backend is blocked by
	// the holder (it waits only on the users' rows).
	b.waitBehind(t, &rowHold{Tx: tx, pid: holderPID}, 1)
	_, err = tx.Exec(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, ann)
	require.NoError(t, err, "the batch, not this transaction, is the deadlock's victim")
	require.NoError(t, tx.Commit())

	require.NoError(t, <-written)
	require.Equal(t, 2, b.user(t, "ann").EventCount)
	require.Equal(t, 2, b.user(t, "bob").EventCount)
	require.Equal(t, 4, b.count(t, `SELECT sum(events) FROM user_daily_activities WHERE project_id = $1`))
}
