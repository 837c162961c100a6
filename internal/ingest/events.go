package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
)

// insertEvents stores the usage messages of a batch and moves their rollups,
// returning how many were new and how many usage messages there were.
//
// One statement inserts the batch (as arrays: one round trip), skipping
// message ids the project already has — the unique (project_id, message_id)
// index makes a racing retry wait for the first and then skip — and returns
// only what it really inserted, summed per user and day. Those sums alone
// move the rollups, so events, counts and activity always agree, whatever
// was retried. The user rows are locked only then, in id order, so
// concurrent batches overlap on the expensive insert and queue only for the
// short rollup updates, never deadlocking.
func insertEvents(ctx context.Context, tx *sql.Tx, projectID int, s settings, batch []*prepared, userOf func(*prepared) (int, error), receivedAt time.Time) (inserted, usage int, err error) {
	var cols eventArrays
	for _, p := range batch {
		name, ok := eventName(p)
		if !ok {
			continue
		}
		userID, err := userOf(p)
		if err != nil {
			return 0, 0, err
		}
		cols.add(userID, name, p, string(Classify(p.Context)))
	}
	usage = len(cols.userIDs)
	if usage == 0 {
		return 0, 0, nil
	}
	var active any
	if len(s.activeEvents) > 0 {
		active = pq.Array(s.activeEvents)
	}
	rows, err := tx.QueryContext(ctx, insertEventsSQL, projectID, receivedAt,
		pq.Array(cols.userIDs), pq.Array(cols.names), pq.Array(cols.timestamps), pq.Array(cols.properties),
		pq.Array(cols.platforms), pq.Array(cols.messageIDs), s.timezone, active)
	if err != nil {
		return 0, 0, fmt.Errorf("insert events: %w", err)
	}
	days, err := scanDays(rows)
	if err != nil {
		return 0, 0, fmt.Errorf("insert events: %w", err)
	}
	for _, d := range days {
		inserted += d.events
	}
	if err := rollUp(ctx, tx, projectID, days); err != nil {
		return 0, 0, err
	}
	return inserted, usage, nil
}

// eventArrays is a batch of events column by column, as the insert takes them.
type eventArrays struct {
	userIDs    []int64
	names      []string
	timestamps []string
	properties []string
	platforms  []string
	messageIDs []string
}

func (a *eventArrays) add(userID int, name string, p *prepared, platform string) {
	a.userIDs = append(a.userIDs, int64(userID))
	a.names = append(a.names, name)
	a.timestamps = append(a.timestamps, p.at.UTC().Format(time.RFC3339Nano))
	a.properties = append(a.properties, string(p.properties))
	a.platforms = append(a.platforms, platform)
	a.messageIDs = append(a.messageIDs, p.MessageID)
}

// insertEventsSQL inserts the batch and returns, per user and calendar day
// of what it inserted: events, activity (active events) by platform, and the
// first and last time. $1 project, $2 received at, $3-$8 the columns, $9 the
// project's time zone, $10 the active event names or NULL for all.
const insertEventsSQL = `
WITH ins AS (
	INSERT INTO events (project_id, user_id, name, timestamp, received_at, properties, platform, message_id)
	SELECT $1, u, n, t, $2, p, pl, m
	FROM unnest($3::bigint[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::text[], $8::text[]) AS x(u, n, t, p, pl, m)
	ON CONFLICT (project_id, message_id) DO NOTHING
	RETURNING user_id, name, timestamp, platform
)
SELECT user_id, (timestamp AT TIME ZONE $9)::date AS day,
	count(*),
	count(*) FILTER (WHERE a),
	count(*) FILTER (WHERE a AND platform = 'MOBILE'),
	count(*) FILTER (WHERE a AND platform = 'TABLET'),
	count(*) FILTER (WHERE a AND platform = 'DESKTOP'),
	min(timestamp), max(timestamp)
FROM (SELECT *, ($10::text[] IS NULL OR name = ANY($10::text[])) AS a FROM ins) i
GROUP BY 1, 2
ORDER BY 1, 2`

// dayDelta is what a batch added to one user's day.
type dayDelta struct {
	userID                               int64
	day                                  time.Time
	events, active, mobile, tablet, desk int
	firstAt, lastAt                      time.Time
}

func scanDays(rows *sql.Rows) ([]dayDelta, error) {
	defer rows.Close()
	var days []dayDelta
	for rows.Next() {
		var d dayDelta
		if err := rows.Scan(&d.userID, &d.day, &d.events, &d.active, &d.mobile, &d.tablet, &d.desk, &d.firstAt, &d.lastAt); err != nil {
			return nil, err
		}
		days = append(days, d)
	}
	return days, rows.Err()
}

// rollUp adds the batch's deltas to users and user_daily_activities. The
// deltas come sorted by user and day, which is the lock order.
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
		if d.firstAt.Before(firsts[i]) {
			firsts[i] = d.firstAt
		}
		if d.lastAt.After(lasts[i]) {
			lasts[i] = d.lastAt
		}
		if d.active > 0 {
			dUsers = append(dUsers, d.userID)
			dDays = append(dDays, d.day.Format(time.DateOnly))
			dEvents = append(dEvents, int64(d.active))
			dMobile = append(dMobile, int64(d.mobile))
			dTab = append(dTab, int64(d.tablet))
			dDesk = append(dDesk, int64(d.desk))
		}
	}
	if !slices.IsSorted(users) {
		return fmt.Errorf("roll up: user deltas out of lock order")
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM users WHERE id = ANY($1) AND project_id = $2 ORDER BY id FOR NO KEY UPDATE`,
		pq.Array(users), projectID); err != nil {
		return fmt.Errorf("lock users: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE users u SET
			event_count = u.event_count + v.n,
			first_seen_at = LEAST(u.first_seen_at, v.f),
			last_seen_at = GREATEST(u.last_seen_at, v.l)
		FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS v(id, n, f, l)
		WHERE u.id = v.id AND u.project_id = $5`,
		pq.Array(users), pq.Array(counts), pq.Array(timestamps(firsts)), pq.Array(timestamps(lasts)), projectID); err != nil {
		return fmt.Errorf("roll up users: %w", err)
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
