package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// ErasureConfig is the erasure benchmark: rounds of erasing Users users
// with EventsPerUser events each in one deleteUsers, among Bystanders
// users with as many events each.
type ErasureConfig struct {
	DB                               *sql.DB
	ProjectID, AdminKeyID            int
	Users, EventsPerUser, Bystanders int
	Rounds                           int
}

// ErasureRound is what one round measured: the erasure of a cohort
// (privacy.Eraser, suppressing its ids) and the floor, the same rows of
// another cohort deleted by plain DELETE statements in one transaction.
type ErasureRound struct {
	Erasure, Floor time.Duration
	// Rows is how many rows the erasure removed.
	Rows int
}

// Ratio is the erasure's time over the floor's.
func (r ErasureRound) Ratio() float64 { return r.Erasure.Seconds() / r.Floor.Seconds() }

// ErasureReport is every round.
type ErasureReport struct {
	Users, EventsPerUser, Bystanders int
	Rounds                           []ErasureRound
}

// Print writes each round, then the medians; the last line is the ratio.
func (r ErasureReport) Print(w io.Writer) {
	for i, round := range r.Rounds {
		fmt.Fprintf(w, "round %d: erasure %.3f s (%d rows), floor %.3f s, ratio %.2f\n",
			i+1, round.Erasure.Seconds(), round.Rows, round.Floor.Seconds(), round.Ratio())
	}
	pick := func(f func(ErasureRound) float64) float64 {
		values := make([]float64, len(r.Rounds))
		for i, round := range r.Rounds {
			values[i] = f(round)
		}
		return median(values)
	}
	fmt.Fprintf(w, "users erased per call:                %d, %d events each, among %d other users\n", r.Users, r.EventsPerUser, r.Bystanders)
	fmt.Fprintf(w, "erasure (deleteUsers, suppressing):   %.3f s (median of %d rounds)\n",
		pick(func(x ErasureRound) float64 { return x.Erasure.Seconds() }), len(r.Rounds))
	fmt.Fprintf(w, "floor (plain DELETEs, one tx):        %.3f s\n", pick(func(x ErasureRound) float64 { return x.Floor.Seconds() }))
	fmt.Fprintf(w, "ratio: %.2f\n", pick(ErasureRound.Ratio))
}

// RunErasure loads the bystanders, then, each round, two cohorts of
// cfg.Users users (identified visitors with events, daily activity,
// feedback, a survey answer, memberships of four segments and pending
// real-time marks), times the floor on one and the erasure of the other.
func RunErasure(ctx context.Context, cfg ErasureConfig, progress io.Writer) (ErasureReport, error) {
	report := ErasureReport{Users: cfg.Users, EventsPerUser: cfg.EventsPerUser, Bystanders: cfg.Bystanders}
	ingestCtx := tenant.NewContext(ctx, tenant.Scope{ProjectID: cfg.ProjectID, Role: tenant.RoleIngest})
	adminCtx := tenant.NewContext(ctx, tenant.Scope{ProjectID: cfg.ProjectID, Role: tenant.RoleAdmin, KeyID: cfg.AdminKeyID})
	writer := ingest.NewWriter(cfg.DB)
	fmt.Fprintf(progress, "loading %d bystanders with %d events each...\n", cfg.Bystanders, cfg.EventsPerUser)
	if err := seedCohort(ingestCtx, writer, "bystander", cfg.Bystanders, cfg.EventsPerUser); err != nil {
		return report, err
	}
	segments, static, err := erasureSegments(ctx, cfg)
	if err != nil {
		return report, err
	}
	eraser := privacy.NewEraser(cfg.DB)
	for round := 1; round <= cfg.Rounds; round++ {
		erased, floor := fmt.Sprintf("erased-%d", round), fmt.Sprintf("floor-%d", round)
		for _, cohort := range []string{erased, floor} {
			if err := seedCohort(ingestCtx, writer, cohort, cfg.Users, cfg.EventsPerUser); err != nil {
				return report, err
			}
		}
		if err := cohortRows(ctx, cfg, segments, static, erased, floor); err != nil {
			return report, err
		}
		var r ErasureRound
		if r.Floor, err = deleteCohort(ctx, cfg.DB, cfg.ProjectID, floor); err != nil {
			return report, err
		}
		ids := cohortIDs(erased, cfg.Users)
		// As the GraphQL mutation does, with its audit entries.
		mutation := audit.Begin(adminCtx, "deleteUsers", 0)
		start := time.Now()
		erasures, err := eraser.Erase(mutation, privacy.Request{ExternalIDs: ids, Suppress: true})
		if err != nil {
			return report, fmt.Errorf("erase round %d: %w", round, err)
		}
		r.Erasure = time.Since(start)
		for _, e := range erasures {
			for _, n := range e.Removed {
				r.Rows += n
			}
		}
		report.Rounds = append(report.Rounds, r)
	}
	return report, nil
}

func cohortIDs(cohort string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%05d", cohort, i)
	}
	return ids
}

// seedCohort sends n users through the writer: an anonymous page view
// merged on identify, then events, as an SDK would.
func seedCohort(ctx context.Context, writer *ingest.Writer, cohort string, n, events int) error {
	now := time.Now().UTC()
	var batch []ingest.Message
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := writer.Write(ctx, batch)
		batch = batch[:0]
		if err != nil {
			return fmt.Errorf("load %s: %w", cohort, err)
		}
		return nil
	}
	for i, id := range cohortIDs(cohort, n) {
		at := now.Add(-time.Duration(i%(29*24)) * time.Hour)
		batch = append(batch,
			ingest.Message{Type: ingest.TypePage, AnonymousID: "anon-" + id, Name: "home", MessageID: id + "-p", Timestamp: at},
			ingest.Message{Type: ingest.TypeIdentify, UserID: id, AnonymousID: "anon-" + id, MessageID: id + "-i", Timestamp: at,
				Traits: map[string]any{"plan": []string{"free", "pro"}[i%2], "email": id + "@example.com"}})
		for e := 1; e < events; e++ {
			batch = append(batch, ingest.Message{Type: ingest.TypeTrack, UserID: id, Event: []string{"export", "login", "view"}[e%3],
				MessageID: fmt.Sprintf("%s-%d", id, e), Timestamp: at.Add(time.Duration(e) * time.Minute),
				Properties: map[string]any{"n": e, "path": "/app/" + id}, Context: ingest.Context{DeviceType: []string{"mobile", "desktop"}[e%2]}})
		}
		if len(batch) >= ingest.MaxBatchSize-events-1 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// erasureSegments creates three dynamic segments (two real time, whose
// marks ingestion keeps) and a static one, a survey, and a webhook
// endpoint that wants every change (the runs write its messages; nothing
// delivers them here).
func erasureSegments(ctx context.Context, cfg ErasureConfig) (dynamic []int, static int, err error) {
	if _, err := cfg.DB.ExecContext(ctx, `INSERT INTO webhook_endpoints (project_id, kind, url, description, segment_ids, events, batch_size, secret, created_at, updated_at)
		VALUES ($1, 'WEBHOOK', 'https://erasure-bench.invalid/hook', '', '[]', '["ENTERED", "EXITED"]', 100, 'whsec_bench', now(), now())`, cfg.ProjectID); err != nil {
		return nil, 0, fmt.Errorf("create webhook endpoint: %w", err)
	}
	for _, rule := range []string{
		`{"event":{"name":"export","withinDays":30}}`,
		`{"trait":{"key":"plan","op":"EQ","value":"pro"}}`,
		`{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":30}}`,
	} {
		id, err := createSegment(ctx, cfg.DB, cfg.ProjectID, "erasure bench", rule)
		if err != nil {
			return nil, 0, err
		}
		dynamic = append(dynamic, id)
	}
	if _, err := cfg.DB.ExecContext(ctx, `UPDATE segments SET realtime_sources = '["event:export"]' WHERE id = $1;`, dynamic[0]); err != nil {
		return nil, 0, fmt.Errorf("make segment real time: %w", err)
	}
	if _, err := cfg.DB.ExecContext(ctx, `UPDATE segments SET realtime_sources = '["trait:plan"]' WHERE id = $1;`, dynamic[1]); err != nil {
		return nil, 0, fmt.Errorf("make segment real time: %w", err)
	}
	err = cfg.DB.QueryRowContext(ctx, `INSERT INTO segments (project_id, name, description, kind, refresh_interval_seconds, status, size, definition_version, created_at, updated_at)
		VALUES ($1, 'erasure bench static', '', 'STATIC', 900, 'READY', 0, 1, now(), now()) RETURNING id`, cfg.ProjectID).Scan(&static)
	if err != nil {
		return nil, 0, fmt.Errorf("create static segment: %w", err)
	}
	_, err = cfg.DB.ExecContext(ctx, `WITH s AS (INSERT INTO surveys (project_id, name, status, created_at, updated_at) VALUES ($1, 'NPS', 'ACTIVE', now(), now()) RETURNING id)
		INSERT INTO survey_questions (project_id, survey_id, position, kind, prompt, required) SELECT $1, id, 0, 'NPS', 'How likely?', true FROM s`, cfg.ProjectID)
	if err != nil {
		return nil, 0, fmt.Errorf("create survey: %w", err)
	}
	return dynamic, static, nil
}

// cohortRows gives the cohorts' users feedback with history and a survey
// answer (in SQL: the dataset is the input, not what is measured), puts
// half of them in the static segment and recomputes the dynamic ones.
func cohortRows(ctx context.Context, cfg ErasureConfig, dynamic []int, static int, cohorts ...string) error {
	for _, cohort := range cohorts {
		like := cohort + "-%"
		for _, q := range []string{
			`INSERT INTO feedbacks (project_id, user_id, kind, nps_score, text, channel, tags, status, timestamp, created_at, updated_at)
			 SELECT $1, id, 'BUG', 3, 'it broke for ' || external_id, 'widget', '["bug"]', 'NEW', now(), now(), now() FROM users
			 WHERE project_id = $1 AND external_id LIKE $2`,
			`INSERT INTO feedback_changes (project_id, feedback_id, kind, old_value, new_value, created_at)
			 SELECT $1, f.id, 'STATUS', '"NEW"', '"TRIAGED"', now() FROM feedbacks f JOIN users u ON u.id = f.user_id
			 WHERE f.project_id = $1 AND u.external_id LIKE $2`,
			`INSERT INTO survey_responses (project_id, survey_id, user_id, answers, submitted_at)
			 SELECT $1, (SELECT id FROM surveys WHERE project_id = $1), u.id,
			   jsonb_build_array(jsonb_build_object('questionId', (SELECT id FROM survey_questions WHERE project_id = $1), 'score', 9)), now()
			 FROM users u WHERE u.project_id = $1 AND u.external_id LIKE $2`,
		} {
			if _, err := cfg.DB.ExecContext(ctx, q, cfg.ProjectID, like); err != nil {
				return fmt.Errorf("load the feedback of %s: %w", cohort, err)
			}
		}
		var half pq.Int64Array
		if err := cfg.DB.QueryRowContext(ctx, `SELECT COALESCE(array_agg(id), '{}') FROM users WHERE project_id = $1 AND external_id LIKE $2 AND id % 2 = 0`,
			cfg.ProjectID, like).Scan(&half); err != nil {
			return fmt.Errorf("pick static members: %w", err)
		}
		if _, err := recompute.AddStaticUsers(ctx, cfg.DB, cfg.ProjectID, static, half); err != nil {
			return err
		}
	}
	worker := recompute.NewWorker(cfg.DB)
	for _, seg := range dynamic {
		if _, err := recomputeOnce(ctx, cfg.DB, worker, cfg.ProjectID, seg); err != nil {
			return err
		}
	}
	return nil
}

// floorStatements delete a cohort's rows, as the erasure deletes them but
// with nothing else: no locks taken first, no runs, no records.
var floorStatements = []string{
	`DELETE FROM events WHERE project_id = $1 AND user_id = ANY($2)`,
	`DELETE FROM user_daily_activities WHERE user_id = ANY($2) AND project_id = $1`,
	`DELETE FROM identities WHERE user_id = ANY($2) AND project_id = $1`,
	`DELETE FROM feedback_changes c USING feedbacks f WHERE f.user_id = ANY($2) AND f.project_id = $1 AND c.feedback_id = f.id`,
	`DELETE FROM feedbacks WHERE user_id = ANY($2) AND project_id = $1`,
	`DELETE FROM survey_responses WHERE user_id = ANY($2) AND project_id = $1`,
	`DELETE FROM segment_memberships WHERE user_id = ANY($2) AND project_id = $1`,
	`DELETE FROM segment_members m USING segments s WHERE m.user_id = ANY($2) AND s.id = m.segment_id AND s.project_id = $1`,
	`DELETE FROM segment_dirty_users WHERE user_id = ANY($2) AND project_id = $1`,
	`DELETE FROM users WHERE id = ANY($2) AND project_id = $1`,
}

// deleteCohort times the floor: the cohort's rows deleted in one
// transaction.
func deleteCohort(ctx context.Context, db *sql.DB, projectID int, cohort string) (time.Duration, error) {
	var ids pq.Int64Array
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM users WHERE project_id = $1 AND external_id LIKE $2`,
		projectID, cohort+"-%").Scan(&ids); err != nil {
		return 0, fmt.Errorf("find %s: %w", cohort, err)
	}
	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range floorStatements {
		if _, err := tx.ExecContext(ctx, q, projectID, ids); err != nil {
			return 0, fmt.Errorf("floor: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
