package retention_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/partition"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/retention"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// One River client works every test's jobs, on the real clock. Tests of
// Apply with a clock of their own place their data years ahead of it, so
// that the jobs this client runs for their projects (the periodic one
// queues every project with a retention) find nothing expired there.
var (
	clientOnce sync.Once
	client     *river.Client[*sql.Tx]
	clientErr  error
)

func riverClient(t *testing.T) *river.Client[*sql.Tx] {
	t.Helper()
	clientOnce.Do(func() {
		db := pgtest.DB(t)
		var c *jobs.Client
		c, clientErr = jobs.NewClient(db, jobs.Config{Work: true, PollInterval: 20 * time.Millisecond,
			SchedulePeriod: -1, ReconcilePeriod: -1, SweepPeriod: -1, Retention: retention.Options{Period: -1}})
		if clientErr == nil {
			client, clientErr = c.River, c.Start(context.Background())
		}
	})
	require.NoError(t, clientErr)
	return client
}

// bundle is a project of the test's own.
type bundle struct {
	db        *sql.DB
	projectID int
	admin     context.Context
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	p := created.Project.ID
	return &bundle{db: db, projectID: p, admin: tenant.NewContext(context.Background(),
		tenant.Scope{ProjectID: p, Role: tenant.RoleAdmin, KeyID: created.Admin.Key.ID, KeyPrefix: created.Admin.Key.Prefix})}
}

// other is another project over the same database.
func (b *bundle) other(t *testing.T, name string) *bundle {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), database.NewClient(b.db), name)
	require.NoError(t, err)
	return &bundle{db: b.db, projectID: created.Project.ID}
}

func (b *bundle) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	_, err := b.db.Exec(query, args...)
	require.NoError(t, err)
}

// set gives the project a time zone and a retention (0: none) directly,
// queueing no job.
func (b *bundle) set(t *testing.T, timezone string, days int) {
	t.Helper()
	var retention any
	if days > 0 {
		retention = days
	}
	b.exec(t, `UPDATE projects SET timezone = $2, retention_days = $3 WHERE id = $1`, b.projectID, timezone, retention)
}

func (b *bundle) user(t *testing.T, externalID string) int {
	t.Helper()
	var id int
	require.NoError(t, b.db.QueryRow(`INSERT INTO users (project_id, external_id, created_at, updated_at) VALUES ($1, $2, now(), now()) RETURNING id`,
		b.projectID, externalID).Scan(&id))
	return id
}

// messages numbers the events' message ids.
var messages atomic.Int64

func (b *bundle) event(t *testing.T, user int, name string, at time.Time) {
	t.Helper()
	// The tests' clock runs years ahead: the month of at may have no
	// partition of events yet (ingestion would make it as it does here).
	_, err := partition.EnsureMonths(context.Background(), b.db, []time.Time{at})
	require.NoError(t, err)
	b.exec(t, `INSERT INTO events (project_id, user_id, name, "timestamp", received_at, message_id) VALUES ($1, $2, $3, $4, $4, $5)`,
		b.projectID, user, name, at, fmt.Sprintf("m-%d", messages.Add(1)))
}

func (b *bundle) day(t *testing.T, user int, day string) {
	t.Helper()
	b.exec(t, `INSERT INTO user_daily_activities (project_id, user_id, day, events) VALUES ($1, $2, $3, 1)`, b.projectID, user, day)
}

// feedback stores feedback at with changes entries of history.
func (b *bundle) feedback(t *testing.T, user int, at time.Time, changes int) int {
	t.Helper()
	var id int
	require.NoError(t, b.db.QueryRow(`INSERT INTO feedbacks (project_id, user_id, "timestamp", nps_score, created_at, updated_at) VALUES ($1, $2, $3, 9, now(), now()) RETURNING id`,
		b.projectID, user, at).Scan(&id))
	for range changes {
		b.exec(t, `INSERT INTO feedback_changes (project_id, feedback_id, kind, created_at) VALUES ($1, $2, 'NOTE', now())`, b.projectID, id)
	}
	return id
}

func (b *bundle) survey(t *testing.T) int {
	t.Helper()
	var id int
	require.NoError(t, b.db.QueryRow(`INSERT INTO surveys (project_id, name, status, created_at, updated_at) VALUES ($1, 'pulse', 'ACTIVE', now(), now()) RETURNING id`,
		b.projectID).Scan(&id))
	return id
}

func (b *bundle) response(t *testing.T, survey, user int, at time.Time) {
	t.Helper()
	b.exec(t, `INSERT INTO survey_responses (project_id, survey_id, user_id, answers, submitted_at) VALUES ($1, $2, $3, '[]', $4)`,
		b.projectID, survey, user, at)
}

// rows is what the project has left: per table, the times (days for daily
// activity) of its rows, sorted.
func (b *bundle) rows(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, query := range map[string]string{
		retention.TableEvents:          `SELECT name || ' ' || to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') FROM events WHERE project_id = $1 ORDER BY 1`,
		retention.TableDailyActivities: `SELECT day::text FROM user_daily_activities WHERE project_id = $1 ORDER BY 1`,
		retention.TableFeedbacks:       `SELECT to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') FROM feedbacks WHERE project_id = $1 ORDER BY 1`,
		retention.TableFeedbackChanges: `SELECT to_char(f."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') FROM feedback_changes c JOIN feedbacks f ON f.id = c.feedback_id WHERE c.project_id = $1 ORDER BY 1`,
		retention.TableSurveyResponses: `SELECT to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') FROM survey_responses WHERE project_id = $1 ORDER BY 1`,
	} {
		rows, err := b.db.Query(query, b.projectID)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out[table] = append(out[table], s)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
	}
	return out
}

// waitJob waits for the project's apply_retention job to complete.
func waitJob(t *testing.T, events <-chan *river.Event, projectID int) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Job.Kind != (retention.Args{}).Kind() {
				continue
			}
			var args retention.Args
			require.NoError(t, json.Unmarshal(ev.Job.EncodedArgs, &args))
			if args.ProjectID != projectID {
				continue
			}
			require.Equal(t, river.EventKindJobCompleted, ev.Kind, "the job of project %d: %v", projectID, ev.Job.Errors)
			return
		case <-timeout:
			t.Fatalf("project %d: its retention job did not complete", projectID)
		}
	}
}

func stamp(at time.Time) string { return at.UTC().Format("2006-01-02T15:04:05") }

func itoa(n int) string { return strconv.Itoa(n) }
