package ingest

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
)

// dayDelta is what a batch added to one user's calendar day.
type dayDelta struct {
	userID               int64
	day                  string // YYYY-MM-DD in the project's time zone
	events, active       int
	mobile, tablet, desk int
	firstAt, lastAt      time.Time
}

// deltas sums stored rows per user and day, sorted by user then day: the
// order rollUp locks in.
func deltas(rows []eventRow, s settings) []dayDelta {
	type key struct {
		user       int64
		year, yday int
	}
	byKey := map[key]*dayDelta{}
	for _, r := range rows {
		local := r.at.In(s.location)
		k := key{r.userID, local.Year(), local.YearDay()}
		d := byKey[k]
		if d == nil {
			d = &dayDelta{userID: r.userID, day: local.Format(time.DateOnly), firstAt: r.at, lastAt: r.at}
			byKey[k] = d
		}
		d.events++
		d.firstAt = earlier(d.firstAt, r.at)
		d.lastAt = later(d.lastAt, r.at)
		if !s.isActive(r.name) {
			continue
		}
		d.active++
		switch r.platform {
		case "MOBILE":
			d.mobile++
		case "TABLET":
			d.tablet++
		case "DESKTOP":
			d.desk++
		}
	}
	out := make([]dayDelta, 0, len(byKey))
	for _, d := range byKey {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b dayDelta) int {
		return cmp.Or(cmp.Compare(a.userID, b.userID), cmp.Compare(a.day, b.day))
	})
	return out
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// userDelta is what a batch changes of one user: counts and first/last
// seen from usage, traits from profile calls.
type userDelta struct {
	id              int64
	events          int64
	firstAt, lastAt time.Time // zero without usage
	traits          string    // a JSON object to merge; "" for none
}

// userDeltas sums days per user and adds the users whose traits change,
// sorted by id.
func userDeltas(days []dayDelta, traits map[int64]string) []userDelta {
	var users []userDelta
	for _, d := range days {
		if n := len(users); n == 0 || users[n-1].id != d.userID {
			users = append(users, userDelta{id: d.userID, firstAt: d.firstAt, lastAt: d.lastAt})
		}
		u := &users[len(users)-1]
		u.events += int64(d.events)
		u.firstAt = earlier(u.firstAt, d.firstAt)
		u.lastAt = later(u.lastAt, d.lastAt)
	}
	byID := func(u userDelta, id int64) int { return cmp.Compare(u.id, id) }
	withUsage := len(users)
	for id, doc := range traits {
		if i, found := slices.BinarySearchFunc(users[:withUsage], id, byID); found {
			users[i].traits = doc
		} else {
			users = append(users, userDelta{id: id, traits: doc})
		}
	}
	if len(users) > withUsage {
		slices.SortFunc(users, func(a, b userDelta) int { return cmp.Compare(a.id, b.id) })
	}
	return users
}

// rollUp writes what the batch changes of its users (traits, counts,
// first/last seen) and of their days, with one statement. It runs last, so
// the users' rows stay locked only for this short step and the commit.
func rollUp(ctx context.Context, tx dbtx, projectID int, s settings, stored []eventRow, traits map[int64]string) error {
	days := deltas(stored, s)
	users := userDeltas(days, traits)
	if len(users) == 0 {
		return checkSettings(ctx, tx, projectID, s)
	}
	var (
		ids, counts                   = make([]int64, len(users)), make([]int64, len(users))
		firsts, lasts, docs           = make([]sql.NullString, len(users)), make([]sql.NullString, len(users)), make([]sql.NullString, len(users))
		dUsers                        []int64
		dDays                         []string
		dEvents, dMobile, dTab, dDesk []int64
	)
	for i, u := range users {
		ids[i], counts[i] = u.id, u.events
		if u.events > 0 {
			firsts[i] = sql.NullString{String: timestampText(u.firstAt), Valid: true}
			lasts[i] = sql.NullString{String: timestampText(u.lastAt), Valid: true}
		}
		docs[i] = sql.NullString{String: u.traits, Valid: u.traits != ""}
	}
	for _, d := range days {
		if d.active > 0 {
			dUsers = append(dUsers, d.userID)
			dDays = append(dDays, d.day)
			dEvents = append(dEvents, int64(d.active))
			dMobile = append(dMobile, int64(d.mobile))
			dTab = append(dTab, int64(d.tablet))
			dDesk = append(dDesk, int64(d.desk))
		}
	}
	var (
		movedUsers      int
		settingsCurrent sql.NullBool
	)
	err := tx.QueryRowContext(ctx, rollUpUsersAndDays, projectID,
		pq.Array(ids), pq.Array(counts), pq.Array(firsts), pq.Array(lasts), pq.Array(docs),
		pq.Array(dUsers), pq.Array(dDays), pq.Array(dEvents), pq.Array(dMobile), pq.Array(dTab), pq.Array(dDesk),
		s.timezone, s.activeEventsParam(), s.suppressionVersion, s.retentionParam()).
		Scan(&movedUsers, &settingsCurrent)
	switch {
	case err != nil:
		return fmt.Errorf("roll up users and daily activity: %w", err)
	case !settingsCurrent.Bool:
		return errStaleSettings
	case movedUsers != len(users):
		return errStaleUser
	}
	return nil
}

// rollUpUsersAndDays applies a batch's changes to its users and to their
// days in one statement: one plan and one round trip per batch. It returns
// how many users it updated, and whether the project's settings are still
// the time zone and active events ($13, $14) the days were computed with,
// and the suppressed ids ($15) and retention ($16) the batch was filtered
// with.
//
// Deadlocks: concurrent batches share users (sessions cross batch
// boundaries, heavy users are in most batches), so every batch must lock
// the users' rows in one order. "locked" takes every row first, sorted by
// id: SELECT ... ORDER BY ... FOR NO KEY UPDATE locks in sort order,
// whatever plan finds the rows. The update and the upsert read its ids
// through ARRAY(...), an init plan, which runs it to completion before they
// touch a row. A batch's days belong to its users, so while a batch holds
// its users no other batch can hold their days.
//
// Plans: users are found with id = ANY($2), a probe of users_pkey per id
// whatever the statistics (a young table has none). The project filter is
// applied to the locked rows rather than in that scan, where the planner
// may AND in the (project_id, external_id) index and read every user of the
// project. A user missing from the project (merged away since the batch
// resolved it) is neither updated nor given days, and the count returned,
// smaller than the batch's, fails the batch.
const rollUpUsersAndDays = `
	WITH locked AS (
		SELECT id, project_id FROM users WHERE id = ANY($2) ORDER BY id FOR NO KEY UPDATE
	), moved_users AS (
		UPDATE users u SET
			event_count = u.event_count + v.n,
			first_seen_at = LEAST(u.first_seen_at, v.f),
			last_seen_at = GREATEST(u.last_seen_at, v.l),
			traits = CASE WHEN v.traits IS NULL THEN u.traits ELSE COALESCE(u.traits, '{}'::jsonb) || v.traits END,
			updated_at = CASE WHEN v.traits IS NULL THEN u.updated_at ELSE now() END
		FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::jsonb[]) AS v(id, n, f, l, traits)
		WHERE u.id = ANY(ARRAY(SELECT id FROM locked WHERE project_id = $1)) AND u.id = v.id
		RETURNING 1
	), moved_days AS (
		INSERT INTO user_daily_activities (project_id, user_id, day, events, mobile_events, tablet_events, desktop_events)
		SELECT $1, u, d, n, m, t, k
		FROM unnest($7::bigint[], $8::date[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[]) AS v(u, d, n, m, t, k)
		WHERE u = ANY(ARRAY(SELECT id FROM locked WHERE project_id = $1))
		ON CONFLICT (user_id, day) DO UPDATE SET
			events = user_daily_activities.events + excluded.events,
			mobile_events = user_daily_activities.mobile_events + excluded.mobile_events,
			tablet_events = user_daily_activities.tablet_events + excluded.tablet_events,
			desktop_events = user_daily_activities.desktop_events + excluded.desktop_events
	)
	SELECT (SELECT count(*) FROM moved_users),
		(SELECT timezone = $13 AND active_events IS NOT DISTINCT FROM $14::jsonb AND suppression_version = $15
			AND retention_days IS NOT DISTINCT FROM $16::int FROM projects WHERE id = $1)`

// checkSettings is the settings check of rollUpUsersAndDays for a batch
// that changes no user's counts or traits. It may still have created users
// and identities: they too must not be of an id suppressed since the batch
// was filtered. It runs after the batch resolved its users, in a statement
// of its own, so it sees an erasure that one of them waited for.
func checkSettings(ctx context.Context, tx dbtx, projectID int, s settings) error {
	var current bool
	if err := tx.QueryRowContext(ctx, selectSettingsCurrent, projectID, s.timezone, s.activeEventsParam(), s.suppressionVersion, s.retentionParam()).Scan(&current); err != nil {
		return fmt.Errorf("check project %d settings: %w", projectID, err)
	}
	if !current {
		return errStaleSettings
	}
	return nil
}

const selectSettingsCurrent = `SELECT timezone = $2 AND active_events IS NOT DISTINCT FROM $3::jsonb AND suppression_version = $4
	AND retention_days IS NOT DISTINCT FROM $5::int FROM projects WHERE id = $1`
