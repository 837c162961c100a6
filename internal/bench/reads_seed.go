package bench

import (
	"context"
	"database/sql"
	"fmt"
)

// readsSkew shapes how the read benchmark's events fall on users: event g
// of n goes to user ⌊users·(g/n)^readsSkew⌋, so the lowest ids are the
// busiest (the first 20 users have about 300 events each with the default
// sizes, the last about 50), as products see, and a page of the first
// users is the heavy case for a nested connection.
const readsSkew = 1.3

// seedReads writes the read benchmark's dataset in a few set-wise
// statements: users with traits, events spread over 60 days by readsSkew,
// their rollups on users, and one segment holding every other user. It
// returns the segment's id.
func seedReads(ctx context.Context, db *sql.DB, projectID, users, events int) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	steps := []struct {
		what  string
		query string
		args  []any
	}{
		{"users", `
			INSERT INTO users (project_id, external_id, traits, created_at, updated_at, event_count)
			SELECT $1, 'user-' || lpad(g::text, 6, '0'),
				jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + g % 3], 'country', (ARRAY['FR','DE','US','JP','BR'])[1 + g % 5],
					'seats', 1 + g % 40, 'email', 'user' || g || '@example.com'),
				now() - interval '60 days', now(), 0
			FROM generate_series(0, $2 - 1) g`, []any{projectID, users}},
		// The user of event g comes from the ids in id order; timestamps are
		// spread over 60 days by a multiplicative hash of g, so a user's
		// events are not in insertion order.
		{"events", `
			WITH pool AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE project_id = $1)
			INSERT INTO events (project_id, user_id, name, timestamp, received_at, properties, platform, message_id)
			SELECT $1, ids[1 + least(floor($3::float8 * power(g::float8 / $2, $4))::int, $3 - 1)],
				(ARRAY['page_view','login','search','report_exported','invite_sent','checkout','settings_opened','comment'])[1 + g % 8],
				now() - ((g::bigint * 2654435761) % 5184000) * interval '1 second', now(),
				jsonb_build_object('path', '/p/' || (g % 97), 'ms', g % 1000),
				(ARRAY['MOBILE','DESKTOP','TABLET'])[1 + g % 3], 'r-' || g
			FROM pool, generate_series(0, $2 - 1) g`, []any{projectID, events, users, readsSkew}},
		{"user rollups", `
			UPDATE users u SET event_count = s.n, first_seen_at = s.f, last_seen_at = s.l
			FROM (SELECT user_id, count(*) n, min(timestamp) f, max(timestamp) l FROM events WHERE project_id = $1 GROUP BY user_id) s
			WHERE u.id = s.user_id`, []any{projectID}},
	}
	for _, step := range steps {
		if _, err := tx.ExecContext(ctx, step.query, step.args...); err != nil {
			return 0, fmt.Errorf("seed %s: %w", step.what, err)
		}
	}
	segmentID, err := seedSegment(ctx, tx, projectID)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	// VACUUM sets the visibility map, so counts can be index-only scans
	// as on a table that autovacuum has caught up with.
	for _, table := range []string{"users", "events", "segments", "segment_members"} {
		if _, err := db.ExecContext(ctx, "VACUUM ANALYZE "+table); err != nil {
			return 0, fmt.Errorf("vacuum %s: %w", table, err)
		}
	}
	return segmentID, nil
}

// seedSegment creates a computed static segment holding every other user
// (by id), with its stored size, and returns its id.
func seedSegment(ctx context.Context, tx *sql.Tx, projectID int) (int, error) {
	var id int
	err := tx.QueryRowContext(ctx, `
		INSERT INTO segments (project_id, name, description, kind, refresh_interval_seconds, status, size, last_computed_at, definition_version, created_at, updated_at)
		VALUES ($1, 'every other user', '', 'STATIC', 900, 'READY', 0, now(), 1, now(), now()) RETURNING id`, projectID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("seed segment: %w", err)
	}
	_, err = tx.ExecContext(ctx, `
		WITH members AS (
			SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users WHERE project_id = $2) u WHERE n % 2 = 1
		), added AS (
			INSERT INTO segment_members (segment_id, user_id, entered_at) SELECT $1, id, now() FROM members
		), opened AS (
			INSERT INTO segment_memberships (project_id, segment_id, user_id, entered_at) SELECT $2, $1, id, now() FROM members
		)
		UPDATE segments SET size = (SELECT count(*) FROM members) WHERE id = $1`, id, projectID)
	if err != nil {
		return 0, fmt.Errorf("seed segment members: %w", err)
	}
	return id, nil
}
