package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
)

// eventRow is one usage message as it is stored.
type eventRow struct {
	userID     int64
	name       string
	at         time.Time
	properties string
	platform   string
	messageID  string
}

var eventColumns = []string{"project_id", "user_id", "name", "timestamp", "received_at", "properties", "platform", "message_id"}

// insertEvents stores the usage messages of a batch and moves their rollups,
// returning how many were new and how many usage messages there were.
//
// The fast path COPYs the batch straight into events inside a savepoint.
// The unique (project_id, message_id) index refuses a message the project
// already has; only then (a client's retry) the savepoint is rolled back
// and the batch inserted again skipping known ids, which tells which rows
// were new. Either way the rollups are computed from exactly the rows
// inserted, so events, counts and activity always agree.
func insertEvents(ctx context.Context, tx *sql.Tx, projectID int, s settings, batch []*prepared, userOf func(*prepared) (int, error), receivedAt time.Time) (inserted, usage int, err error) {
	var rows []eventRow
	for _, p := range batch {
		name, ok := eventName(p)
		if !ok {
			continue
		}
		userID, err := userOf(p)
		if err != nil {
			return 0, 0, err
		}
		rows = append(rows, eventRow{userID: int64(userID), name: name, at: p.at, properties: string(p.properties),
			platform: string(Classify(p.Context)), messageID: p.MessageID})
	}
	if len(rows) == 0 {
		return 0, 0, nil
	}
	stored, err := storeEvents(ctx, tx, projectID, receivedAt, rows)
	if err != nil {
		return 0, 0, err
	}
	if err := rollUp(ctx, tx, projectID, deltas(stored, s)); err != nil {
		return 0, 0, err
	}
	return len(stored), len(rows), nil
}

// storeEvents inserts rows and returns the ones that were new.
func storeEvents(ctx context.Context, tx *sql.Tx, projectID int, receivedAt time.Time, rows []eventRow) ([]eventRow, error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT copy_events`); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	err := copyEvents(ctx, tx, projectID, receivedAt, rows)
	var pqErr *pq.Error
	switch {
	case err == nil:
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT copy_events`); err != nil {
			return nil, fmt.Errorf("release savepoint: %w", err)
		}
		return rows, nil
	case errors.As(err, &pqErr) && pqErr.Code == "23505": // unique_violation: a retry
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT copy_events`); err != nil {
			return nil, fmt.Errorf("roll back to savepoint: %w", err)
		}
		return insertSkippingKnown(ctx, tx, projectID, receivedAt, rows)
	default:
		return nil, err
	}
}

func copyEvents(ctx context.Context, tx *sql.Tx, projectID int, receivedAt time.Time, rows []eventRow) error {
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("events", eventColumns...))
	if err != nil {
		return fmt.Errorf("copy events: %w", err)
	}
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, projectID, r.userID, r.name, r.at, receivedAt, r.properties, r.platform, r.messageID); err != nil {
			_ = stmt.Close()
			return fmt.Errorf("copy event: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		_ = stmt.Close()
		return fmt.Errorf("copy events: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return fmt.Errorf("copy events: %w", err)
	}
	return nil
}

// insertSkippingKnown inserts the rows whose message id the project does not
// have yet; a concurrent retry of the same batch waits for the first and
// then skips.
func insertSkippingKnown(ctx context.Context, tx *sql.Tx, projectID int, receivedAt time.Time, rows []eventRow) ([]eventRow, error) {
	var (
		users                                    = make([]int64, len(rows))
		names, ats, props, platforms, messageIDs = make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	)
	for i, r := range rows {
		users[i], names[i], ats[i], props[i], platforms[i], messageIDs[i] = r.userID, r.name, r.at.UTC().Format(time.RFC3339Nano), r.properties, r.platform, r.messageID
	}
	result, err := tx.QueryContext(ctx, `
		INSERT INTO events (project_id, user_id, name, timestamp, received_at, properties, platform, message_id)
		SELECT $1, u, n, t, $2, p, pl, m
		FROM unnest($3::bigint[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::text[], $8::text[]) AS x(u, n, t, p, pl, m)
		ON CONFLICT (project_id, message_id) DO NOTHING
		RETURNING message_id`,
		projectID, receivedAt, pq.Array(users), pq.Array(names), pq.Array(ats), pq.Array(props), pq.Array(platforms), pq.Array(messageIDs))
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	defer result.Close()
	fresh := map[string]bool{}
	for result.Next() {
		var id string
		if err := result.Scan(&id); err != nil {
			return nil, fmt.Errorf("insert events: %w", err)
		}
		fresh[id] = true
	}
	if err := result.Err(); err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	return slices.DeleteFunc(rows, func(r eventRow) bool { return !fresh[r.messageID] }), nil
}

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
		user int64
		day  string
	}
	byKey := map[key]*dayDelta{}
	for _, r := range rows {
		k := key{r.userID, r.at.In(s.location).Format(time.DateOnly)}
		d := byKey[k]
		if d == nil {
			d = &dayDelta{userID: r.userID, day: k.day, firstAt: r.at, lastAt: r.at}
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
		if a.userID != b.userID {
			if a.userID < b.userID {
				return -1
			}
			return 1
		}
		if a.day < b.day {
			return -1
		}
		if a.day > b.day {
			return 1
		}
		return 0
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

// rollUp adds the batch's deltas to users and user_daily_activities. It runs
// last, so the user rows stay locked only for this short step and the
// commit.
func rollUp(ctx context.Context, tx *sql.Tx, projectID int, days []dayDelta) error {
	if len(days) == 0 {
		return nil
	}
	var (
		users                         []int64
		counts                        []int64
		firsts, lasts                 []time.Time
		dUsers                        []int64
		dDays                         []string
		dEvents, dMobile, dTab, dDesk []int64
	)
	for _, d := range days {
		if n := len(users); n == 0 || users[n-1] != d.userID {
			users = append(users, d.userID)
			counts = append(counts, 0)
			firsts = append(firsts, d.firstAt)
			lasts = append(lasts, d.lastAt)
		}
		i := len(users) - 1
		counts[i] += int64(d.events)
		firsts[i] = earlier(firsts[i], d.firstAt)
		lasts[i] = later(lasts[i], d.lastAt)
		if d.active > 0 {
			dUsers = append(dUsers, d.userID)
			dDays = append(dDays, d.day)
			dEvents = append(dEvents, int64(d.active))
			dMobile = append(dMobile, int64(d.mobile))
			dTab = append(dTab, int64(d.tablet))
			dDesk = append(dDesk, int64(d.desk))
		}
	}
	// The ids were resolved in this project and are sorted: filtering by
	// the primary key keeps the update on its index whatever the statistics,
	// and every plan for sorted ids visits (and locks) users in id order, so
	// concurrent batches queue instead of deadlocking.
	res, err := tx.ExecContext(ctx, `
		UPDATE users u SET
			event_count = u.event_count + v.n,
			first_seen_at = LEAST(u.first_seen_at, v.f),
			last_seen_at = GREATEST(u.last_seen_at, v.l)
		FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS v(id, n, f, l)
		WHERE u.id = ANY($1) AND u.id = v.id`,
		pq.Array(users), pq.Array(counts), pq.Array(timestamps(firsts)), pq.Array(timestamps(lasts)))
	if err != nil {
		return fmt.Errorf("roll up users: %w", err)
	}
	if err := expectRows(res, len(users)); err != nil {
		return err
	}
	if len(dUsers) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO user_daily_activities (project_id, user_id, day, events, mobile_events, tablet_events, desktop_events)
		SELECT $1, u, d, n, m, t, k
		FROM unnest($2::bigint[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[]) AS v(u, d, n, m, t, k)
		ON CONFLICT (user_id, day) DO UPDATE SET
			events = user_daily_activities.events + excluded.events,
			mobile_events = user_daily_activities.mobile_events + excluded.mobile_events,
			tablet_events = user_daily_activities.tablet_events + excluded.tablet_events,
			desktop_events = user_daily_activities.desktop_events + excluded.desktop_events`,
		projectID, pq.Array(dUsers), pq.Array(dDays), pq.Array(dEvents), pq.Array(dMobile), pq.Array(dTab), pq.Array(dDesk)); err != nil {
		return fmt.Errorf("roll up daily activity: %w", err)
	}
	return nil
}

// timestamps formats times for a timestamptz[] parameter.
func timestamps(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// eventName is the stored event name of a usage message; profile messages
// have none.
func eventName(p *prepared) (string, bool) {
	switch p.Type {
	case TypeTrack:
		return p.Event, true
	case TypePage:
		return PageEventName, true
	case TypeScreen:
		return ScreenEventName, true
	}
	return "", false
}
