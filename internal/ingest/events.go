package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// eventColumns are the columns a batch COPYs into its staging table.
var eventColumns = []string{"project_id", "user_id", "name", "timestamp", "received_at", "properties", "platform", "message_id"}

// insertEvents stores the usage messages of a batch and moves their rollups,
// returning how many were new and how many usage messages there were.
//
// The rows are COPYed into a transaction-local staging table, then one
// statement inserts them into events, skipping message ids the project
// already has (the unique (project_id, message_id) index: a racing retry
// waits for the first and then skips), and feeds only the rows it really
// inserted to the users and user_daily_activities rollups. Events, counts
// and activity therefore always agree, whatever was retried.
func insertEvents(ctx context.Context, tx *sql.Tx, projectID int, s settings, batch []*prepared, userOf func(*prepared) (int, error), receivedAt time.Time) (inserted, usage int, err error) {
	// Users are resolved before COPY starts: the connection can run nothing
	// else while it streams.
	userIDs := make([]int, len(batch))
	for i, p := range batch {
		if _, ok := eventName(p); !ok {
			continue
		}
		if userIDs[i], err = userOf(p); err != nil {
			return 0, 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE ingest_events (project_id bigint, user_id bigint, name text, timestamp timestamptz, received_at timestamptz, properties jsonb, platform text, message_id text) ON COMMIT DROP`); err != nil {
		return 0, 0, fmt.Errorf("stage events: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("ingest_events", eventColumns...))
	if err != nil {
		return 0, 0, fmt.Errorf("copy events: %w", err)
	}
	for i, p := range batch {
		name, ok := eventName(p)
		if !ok {
			continue
		}
		usage++
		if _, err := stmt.ExecContext(ctx, projectID, userIDs[i], name, p.at, receivedAt, string(p.properties), string(Classify(p.Context)), p.MessageID); err != nil {
			_ = stmt.Close()
			return 0, 0, fmt.Errorf("copy event: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		_ = stmt.Close()
		return 0, 0, fmt.Errorf("copy events: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return 0, 0, fmt.Errorf("copy events: %w", err)
	}
	if usage == 0 {
		return 0, 0, nil
	}
	var active any
	if len(s.activeEvents) > 0 {
		active = pq.Array(s.activeEvents)
	}
	err = tx.QueryRowContext(ctx, insertAndRollUp, projectID, s.timezone, active).Scan(&inserted)
	if err != nil {
		return 0, 0, fmt.Errorf("insert events: %w", err)
	}
	return inserted, usage, nil
}

// insertAndRollUp moves staged events into events and their effect into the
// rollups. $1 project, $2 time zone (calendar days), $3 active event names
// or NULL for all. The daily upsert relies on user_daily_activities'
// unique (user_id, day) index.
const insertAndRollUp = `
WITH ins AS (
	INSERT INTO events (project_id, user_id, name, timestamp, received_at, properties, platform, message_id)
	SELECT project_id, user_id, name, timestamp, received_at, properties, platform, message_id FROM ingest_events
	ON CONFLICT (project_id, message_id) DO NOTHING
	RETURNING user_id, name, timestamp, platform
), per_user AS (
	SELECT user_id, count(*) AS n, min(timestamp) AS first_at, max(timestamp) AS last_at
	FROM ins GROUP BY user_id
), users_rolled AS (
	UPDATE users u SET
		event_count = u.event_count + p.n,
		first_seen_at = LEAST(u.first_seen_at, p.first_at),
		last_seen_at = GREATEST(u.last_seen_at, p.last_at)
	FROM per_user p
	WHERE u.id = p.user_id AND u.project_id = $1
), daily_rolled AS (
	INSERT INTO user_daily_activities (project_id, user_id, day, events, mobile_events, tablet_events, desktop_events)
	SELECT $1, user_id, (timestamp AT TIME ZONE $2)::date,
		count(*),
		count(*) FILTER (WHERE platform = 'MOBILE'),
		count(*) FILTER (WHERE platform = 'TABLET'),
		count(*) FILTER (WHERE platform = 'DESKTOP')
	FROM ins
	WHERE $3::text[] IS NULL OR name = ANY($3::text[])
	GROUP BY 2, 3
	ON CONFLICT (user_id, day) DO UPDATE SET
		events = user_daily_activities.events + excluded.events,
		mobile_events = user_daily_activities.mobile_events + excluded.mobile_events,
		tablet_events = user_daily_activities.tablet_events + excluded.tablet_events,
		desktop_events = user_daily_activities.desktop_events + excluded.desktop_events
)
SELECT count(*) FROM ins`

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
