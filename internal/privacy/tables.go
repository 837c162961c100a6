package privacy

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/partition"
)

// userRows are the tables that hold rows about a user, with the statement
// that deletes the rows of a set of users of a project ($1 the project, $2
// the users' ids, with those of the users merged into them) and returns how
// many each user had. The order is that of
// the foreign keys: a feedback's history before the feedback, everything
// before the user. Events with their message keys (eraseEvents), segment
// memberships (through recompute.EraseMembers), dirty marks
// (recompute.DropMarks), discovery assignments (scrubDiscovery) and the
// webhook outbox (webhook.EraseUsers) are erased apart; the test
// TestErasureCoversEveryTable fails when a table that names users is in
// none of these.
//
// Indexes: userdailyactivity_user_id_day,
// identity_user_id, feedback_user_id_timestamp with
// feedbackchange_feedback_id_created_at, surveyresponse_user_id_survey_id,
// segmentmembership_user_id_entered_at, segmentmember_user_id,
// usermerge_user_id, users_pkey.
var userRows = []struct{ table, statement string }{
	{"user_daily_activities", `DELETE FROM user_daily_activities WHERE user_id = ANY($2) AND project_id = $1 RETURNING user_id`},
	{"identities", `DELETE FROM identities WHERE user_id = ANY($2) AND project_id = $1 RETURNING user_id`},
	{"feedback_changes", `DELETE FROM feedback_changes c USING feedbacks f
		WHERE f.user_id = ANY($2) AND f.project_id = $1 AND c.feedback_id = f.id RETURNING f.user_id`},
	{"feedbacks", `DELETE FROM feedbacks WHERE user_id = ANY($2) AND project_id = $1 RETURNING user_id`},
	{"survey_responses", `DELETE FROM survey_responses WHERE user_id = ANY($2) AND project_id = $1 RETURNING user_id`},
	// Every interval, current or past: the runs keep their counts, and no
	// longer name the user (run.entered and run.exited read these).
	{"segment_memberships", `DELETE FROM segment_memberships WHERE user_id = ANY($2) AND project_id = $1 RETURNING user_id`},
	// Empty by now (the erasure runs ended the users' memberships); kept
	// so that nothing is left should a row have escaped them.
	{"segment_members", `DELETE FROM segment_members m USING segments s
		WHERE m.user_id = ANY($2) AND s.id = m.segment_id AND s.project_id = $1 RETURNING m.user_id`},
	// The merges into the users (all point at them: see ingest's merge),
	// once what they led to is gone.
	{"user_merges", `DELETE FROM user_merges WHERE user_id = ANY($2) AND project_id = $1 RETURNING user_id`},
	{"users", `DELETE FROM users WHERE id = ANY($2) AND project_id = $1 RETURNING id AS user_id`},
}

// removed counts, per user, the rows an erasure removed, by table.
type removed map[int64]map[string]int

// fold counts the rows of each merged-away user (merged: its id, the
// erased user it was merged into) as the erased user's.
func (r removed) fold(merged map[int64]int64) {
	for from, into := range merged {
		for table, n := range r[from] {
			r.add(into, table, n)
		}
		delete(r, from)
	}
}

func (r removed) add(user int64, table string, n int) {
	if n == 0 {
		return
	}
	if r[user] == nil {
		r[user] = map[string]int{}
	}
	r[user][table] += n
}

// eraseEventsSQL deletes the users' events (through
// event_project_id_user_id_timestamp) and returns, per user, how many and
// the keys of their message ids.
var eraseEventsSQL = `
	WITH d AS (DELETE FROM events WHERE project_id = $1 AND user_id = ANY($2) RETURNING user_id, message_id)
	SELECT user_id, count(*), array_agg(DISTINCT ` + partition.KeySQL("message_id") + `) FROM d GROUP BY 1`

// eraseEvents deletes the users' events, then the keys of their message
// ids in event_messages (its primary key), so a retry of one of their
// messages is not taken for a duplicate of what is gone. The keys go in a
// statement of their own, after the events: while events is being
// partitioned online, a batch of the copy holding one of the rows (FOR
// SHARE) makes the delete wait for it, and only a statement begun after
// that sees the keys the batch wrote.
func eraseEvents(ctx context.Context, tx *sql.Tx, projectID int, users []int64, into removed) error {
	rows, err := tx.QueryContext(ctx, eraseEventsSQL, projectID, pq.Array(users))
	if err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	defer func() { _ = rows.Close() }()
	ownerOf := map[string]int64{}
	var keys [][]byte
	for rows.Next() {
		var (
			user     int64
			n        int
			userKeys pq.ByteaArray
		)
		if err := rows.Scan(&user, &n, &userKeys); err != nil {
			return fmt.Errorf("erase events: %w", err)
		}
		into.add(user, "events", n)
		for _, k := range userKeys {
			ownerOf[string(k)] = user
		}
		keys = append(keys, userKeys...)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	deleted, err := tx.QueryContext(ctx, `DELETE FROM event_messages WHERE project_id = $1 AND message_key = ANY($2) RETURNING message_key`,
		projectID, pq.ByteaArray(keys))
	if err != nil {
		return fmt.Errorf("erase message keys: %w", err)
	}
	defer func() { _ = deleted.Close() }()
	for deleted.Next() {
		var key []byte
		if err := deleted.Scan(&key); err != nil {
			return fmt.Errorf("erase message keys: %w", err)
		}
		into.add(ownerOf[string(key)], "event_messages", 1)
	}
	if err := deleted.Err(); err != nil {
		return fmt.Errorf("erase message keys: %w", err)
	}
	return nil
}

// deleteUserRows runs userRows for users, in tx.
func deleteUserRows(ctx context.Context, tx *sql.Tx, projectID int, users []int64, into removed) error {
	for _, t := range userRows {
		if err := countDeleted(ctx, tx, t.table, `WITH d AS (`+t.statement+`) SELECT d.user_id, count(*) FROM d GROUP BY 1`,
			into, projectID, pq.Array(users)); err != nil {
			return err
		}
	}
	return nil
}

// countDeleted runs a statement returning (user id, rows) and adds them to
// into under table.
func countDeleted(ctx context.Context, tx *sql.Tx, table, query string, into removed, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("erase %s: %w", table, err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			user int64
			n    int
		)
		if err := rows.Scan(&user, &n); err != nil {
			return fmt.Errorf("erase %s: %w", table, err)
		}
		into.add(user, table, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("erase %s: %w", table, err)
	}
	return nil
}

// scrubDiscovery takes the users out of the clusters of the project's
// discovery runs (their members lists). The clusters' sizes and shares
// stay as they were computed: like a run's counts, they are history. The
// rows of unfinished runs are locked until the erasure commits: their job
// locks its row before it reads which of its members still exist, so it
// cannot store an erased user back (see discovery's Worker.store).
func scrubDiscovery(ctx context.Context, tx *sql.Tx, projectID int, users []int64, into removed) error {
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM discovery_runs WHERE project_id = $1 AND status IN ('PENDING', 'RUNNING') ORDER BY id FOR UPDATE`,
		projectID); err != nil {
		return fmt.Errorf("lock unfinished discovery runs: %w", err)
	}
	return countDeleted(ctx, tx, "discovery_runs", `
		WITH named AS (
			SELECT d.id, (m.value)::bigint AS user_id
			FROM discovery_runs d, jsonb_array_elements(d.members) c, jsonb_array_elements(c.value) m
			WHERE d.project_id = $1 AND d.members IS NOT NULL AND jsonb_typeof(d.members) = 'array' AND (m.value)::bigint = ANY($2)
		), scrubbed AS (
			UPDATE discovery_runs d SET members = (
				SELECT COALESCE(jsonb_agg(COALESCE(
					(SELECT jsonb_agg(m.value ORDER BY m.ordinality) FROM jsonb_array_elements(c.value) WITH ORDINALITY m
					 WHERE (m.value)::bigint <> ALL($2)), '[]'::jsonb) ORDER BY c.ordinality), '[]'::jsonb)
				FROM jsonb_array_elements(d.members) WITH ORDINALITY c)
			WHERE d.id IN (SELECT id FROM named)
		)
		SELECT user_id, count(*) FROM named GROUP BY 1`, into, projectID, pq.Array(users))
}
