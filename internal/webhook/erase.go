package webhook

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lib/pq"
)

// EraseUsers takes erased users out of the project's outbox, in tx (the
// erasure's): every message, pending, failed or delivered, whose body names
// one of them loses them from its users (a redelivery or replay would send
// the body again), and its attempts lose what the receiver answered; a
// message left without users is deleted, with its attempts. It returns how
// many messages named each user.
//
// The messages that may name a user are those of the runs that moved
// them, which the user's membership intervals name: EraseUsers must run
// before the erasure deletes those. Their messages are found by the
// project's endpoints and each run's (segment, seq), along
// webhookmessage_endpoint_id_segment_id_seq_part, so an erasure never
// reads the project's whole log. A delivery holding a message (FOR NO KEY
// UPDATE, while it sends it) is waited for.
func EraseUsers(ctx context.Context, tx *sql.Tx, projectID int, users []int64) (map[int64]int, error) {
	rows, err := tx.QueryContext(ctx, eraseUsersSQL, projectID, pq.Array(users))
	if err != nil {
		return nil, fmt.Errorf("erase users from webhook messages: %w", err)
	}
	defer func() { _ = rows.Close() }()
	named := map[int64]int{}
	var rewritten pq.Int64Array
	for rows.Next() {
		var (
			user, n  sql.NullInt64
			messages pq.Int64Array
		)
		if err := rows.Scan(&user, &n, &messages); err != nil {
			return nil, fmt.Errorf("erase users from webhook messages: %w", err)
		}
		if !user.Valid {
			rewritten = messages
			continue
		}
		named[user.Int64] = int(n.Int64)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("erase users from webhook messages: %w", err)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("erase users from webhook messages: %w", err)
	}
	if err := scrubAttempts(ctx, tx, projectID, rewritten); err != nil {
		return nil, err
	}
	return named, nil
}

// scrubAttempts clears what the receivers answered (response_body, and
// error) to the attempts of messages whose bodies the erasure rewrote: a
// receiver that echoes the payload, or names what it got in an error,
// would keep the erased users' ids and traits in the delivery log. Status
// and latency stay, like the message. It is a statement of its own, after
// the rewrite: the rewrite may have waited for a delivery in flight, and
// only a statement begun after that sees the attempt it recorded; the
// rewrite's lock then keeps further deliveries of the message out until
// the erasure commits. Along webhookattempt_message_id_at. The attempts of
// the messages deleted went with them (ON DELETE CASCADE).
func scrubAttempts(ctx context.Context, tx *sql.Tx, projectID int, messages []int64) error {
	if len(messages) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_attempts SET response_body = '', error = NULL
		WHERE message_id = ANY($2) AND project_id = $1 AND (response_body <> '' OR error IS NOT NULL)`,
		projectID, pq.Array(messages)); err != nil {
		return fmt.Errorf("scrub the attempts of rewritten webhook messages: %w", err)
	}
	return nil
}

// eraseUsersSQL is EraseUsers in one statement: the runs that moved the
// users ($2), their messages (a probe of the stream index per run and
// endpoint, which OFFSET 0 keeps from being flattened into a scan of every
// message of the endpoints; their bodies are parsed once, and no other's),
// the users each names, and each message that names one rewritten without
// them (its id returned, in a last row without a user), or deleted. A
// delivery that holds a message is waited for by the write; the body it
// sends is immutable, so the rewrite computed from it stands.
const eraseUsersSQL = `
	WITH runs AS (
		SELECT DISTINCT r.segment_id, r.seq FROM segment_memberships m
		JOIN segment_runs r ON r.id IN (m.entered_run_id, m.exited_run_id)
		WHERE m.user_id = ANY($2) AND m.project_id = $1 AND r.seq IS NOT NULL
	), candidates AS (
		SELECT w.id, w.body FROM runs
		JOIN webhook_endpoints e ON e.project_id = $1,
		LATERAL (SELECT id, body::jsonb AS body FROM webhook_messages
			WHERE endpoint_id = e.id AND segment_id = runs.segment_id AND seq = runs.seq OFFSET 0) w
	), parsed AS (
		SELECT c.id, u.value, u.ordinality, (u.value->>'id')::bigint AS user_id FROM candidates c,
			jsonb_array_elements(CASE WHEN jsonb_typeof(c.body->'data'->'users') = 'array' THEN c.body->'data'->'users' ELSE '[]' END)
			WITH ORDINALITY u
	), kept AS (
		SELECT id, jsonb_agg(value ORDER BY ordinality) FILTER (WHERE user_id <> ALL($2)) AS users
		FROM parsed GROUP BY id HAVING bool_or(user_id = ANY($2))
	), rewritten AS (
		UPDATE webhook_messages w SET body = jsonb_set(c.body, '{data,users}', k.users)::text
		FROM kept k JOIN candidates c ON c.id = k.id WHERE w.id = k.id AND k.users IS NOT NULL
		RETURNING w.id
	), dropped AS (
		DELETE FROM webhook_messages w USING kept k WHERE w.id = k.id AND k.users IS NULL
	)
	SELECT user_id, count(*), NULL::bigint[] FROM parsed WHERE user_id = ANY($2) GROUP BY 1
	UNION ALL
	SELECT NULL, NULL, array_agg(id) FROM rewritten HAVING count(*) > 0`
