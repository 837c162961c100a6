package privacy

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/tenant"
)

// ErrNoUser is returned by Export for an external id no user of the
// project has.
var ErrNoUser = errors.New("no such user")

// Exporter writes everything Pulse stores about one user (an access
// request) as one JSON document.
type Exporter struct {
	db  *sql.DB
	now func() time.Time
}

// NewExporter returns an Exporter over db.
func NewExporter(db *sql.DB) *Exporter { return &Exporter{db: db, now: time.Now} }

// exportSection is one list of the document: its key and the statement
// that yields its elements as JSON text ($1 the user, $2 the project), in
// the order they are written.
type exportSection struct {
	key, query string
}

// exportSections are the document's lists after "user". Each element is
// built by PostgreSQL (json_build_object), so a row goes from the wire to
// the writer without being decoded; timestamps are RFC 3339 in UTC (the
// transaction's TimeZone). Indexes: identity_user_id,
// event_project_id_user_id_timestamp, userdailyactivity_user_id_day,
// feedback_user_id_timestamp, feedbackchange_feedback_id_created_at,
// surveyresponse_user_id_survey_id, segmentmembership_user_id_entered_at.
var exportSections = []exportSection{
	{"identities", `SELECT json_build_object('anonymousId', anonymous_id, 'createdAt', created_at)::text
		FROM identities WHERE user_id = $1 AND project_id = $2 ORDER BY created_at, id`},
	{"events", `SELECT json_build_object('id', id::text, 'name', name, 'timestamp', "timestamp", 'receivedAt', received_at,
		'platform', platform, 'messageId', message_id, 'properties', properties)::text
		FROM events WHERE project_id = $2 AND user_id = $1 ORDER BY "timestamp", id`},
	{"dailyActivity", `SELECT json_build_object('day', day, 'events', events, 'mobileEvents', mobile_events,
		'tabletEvents', tablet_events, 'desktopEvents', desktop_events)::text
		FROM user_daily_activities WHERE user_id = $1 AND project_id = $2 ORDER BY day`},
	{"feedback", `SELECT json_build_object('id', f.id::text, 'kind', f.kind, 'rating', f.rating, 'npsScore', f.nps_score,
		'text', f.text, 'channel', f.channel, 'tags', f.tags, 'sentiment', f.sentiment, 'status', f.status,
		'assignee', f.assignee, 'timestamp', f."timestamp", 'createdAt', f.created_at, 'updatedAt', f.updated_at,
		'history', COALESCE((SELECT json_agg(json_build_object('kind', c.kind, 'oldValue', c.old_value, 'newValue', c.new_value,
			'at', c.created_at) ORDER BY c.created_at, c.id) FROM feedback_changes c WHERE c.feedback_id = f.id), '[]'))::text
		FROM feedbacks f WHERE f.user_id = $1 AND f.project_id = $2 ORDER BY f."timestamp", f.id`},
	{"surveyResponses", `SELECT json_build_object('id', r.id::text, 'survey', json_build_object('id', s.id::text, 'name', s.name),
		'submittedAt', r.submitted_at,
		'answers', COALESCE((SELECT json_agg(a.value || jsonb_build_object('questionId', q.id::text, 'prompt', q.prompt) ORDER BY a.n)
			FROM jsonb_array_elements(r.answers) WITH ORDINALITY a(value, n)
			LEFT JOIN survey_questions q ON q.id = (a.value->>'questionId')::bigint), '[]'))::text
		FROM survey_responses r JOIN surveys s ON s.id = r.survey_id
		WHERE r.user_id = $1 AND r.project_id = $2 ORDER BY r.submitted_at, r.id`},
	{"memberships", `SELECT json_build_object('segment', json_build_object('id', s.id::text, 'name', s.name),
		'enteredAt', m.entered_at, 'exitedAt', m.exited_at)::text
		FROM segment_memberships m JOIN segments s ON s.id = m.segment_id
		WHERE m.user_id = $1 AND m.project_id = $2 ORDER BY m.entered_at, m.id`},
}

// Export writes the user of externalID in the project of ctx to out as one
// JSON object: "exportedAt", "user" (profile and traits), then the lists
// of exportSections. As for an erasure, an alias or the external id of a
// user merged away names the user ingest files its messages under
// (namedUsersSQL). It reads one snapshot (a REPEATABLE READ, read-only
// transaction) and streams it: rows are written as they arrive, so a user
// with millions of events costs the same memory as one with ten. An
// unknown user is ErrNoUser, before anything is written; an error after
// the first byte leaves the document unfinished, and the caller must
// abort what it was writing to.
func (e *Exporter) Export(ctx context.Context, out io.Writer, externalID string) error {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return fmt.Errorf("export user: %w", tenant.ErrNoTenant)
	}
	if !scope.Role.Allows(tenant.RoleAdmin) {
		return ErrNotAdmin
	}
	tx, err := e.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin export: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SET LOCAL TimeZone = 'UTC'`); err != nil {
		return fmt.Errorf("begin export: %w", err)
	}
	var (
		userID  int64
		profile string
	)
	err = tx.QueryRowContext(ctx, `
		SELECT id, json_build_object('id', id::text, 'externalId', external_id, 'traits', traits, 'firstSeenAt', first_seen_at,
			'lastSeenAt', last_seen_at, 'eventCount', event_count, 'createdAt', created_at, 'updatedAt', updated_at)::text
		FROM users WHERE project_id = $1 AND id = (SELECT id FROM (`+namedUsersSQL+`) n)`,
		scope.ProjectID, pq.Array([]string{externalID})).Scan(&userID, &profile)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoUser
	}
	if err != nil {
		return fmt.Errorf("load user: %w", err)
	}
	w := bufio.NewWriterSize(out, 32<<10)
	fmt.Fprintf(w, `{"exportedAt":%q,"user":%s`, e.now().UTC().Format(time.RFC3339Nano), profile)
	for _, s := range exportSections {
		if err := writeSection(ctx, tx, w, s, userID, scope.ProjectID); err != nil {
			return err
		}
	}
	if _, err := w.WriteString("}\n"); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

// writeSection writes `,"key":[...]` with the rows of s.
func writeSection(ctx context.Context, tx *sql.Tx, w *bufio.Writer, s exportSection, userID int64, projectID int) error {
	rows, err := tx.QueryContext(ctx, s.query, userID, projectID)
	if err != nil {
		return fmt.Errorf("export %s: %w", s.key, err)
	}
	defer func() { _ = rows.Close() }()
	fmt.Fprintf(w, `,%q:[`, s.key)
	// sql.RawBytes points into the driver's buffer: the row is copied
	// only into the writer's.
	var element sql.RawBytes
	for n := 0; rows.Next(); n++ {
		if err := rows.Scan(&element); err != nil {
			return fmt.Errorf("export %s: %w", s.key, err)
		}
		if n > 0 {
			_ = w.WriteByte(',')
		}
		if _, err := w.Write(element); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export %s: %w", s.key, err)
	}
	if err := w.WriteByte(']'); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}
