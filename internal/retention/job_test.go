package retention_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/project"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/retention"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

const day = 24 * time.Hour

// jobsOf counts the project's apply_retention jobs, in any state.
func (b *bundle) jobsOf(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = $1 AND (args->>'project_id')::bigint = $2`,
		(retention.Args{}).Kind(), b.projectID).Scan(&n))
	return n
}

func (b *bundle) retentionDays(t *testing.T) sql.NullInt64 {
	t.Helper()
	var days sql.NullInt64
	require.NoError(t, b.db.QueryRow(`SELECT retention_days FROM projects WHERE id = $1`, b.projectID).Scan(&days))
	return days
}

// TestRetentionChangeQueuesItsJob: a change of the retention queues the
// project's job in its own transaction (neither is seen before it
// commits, and a rolled back change leaves no job), and a working River
// client runs it at once.
func TestRetentionChangeQueuesItsJob(t *testing.T) {
	t.Parallel()
	c := riverClient(t)
	events, cancel := c.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	b := setup(t)
	now := time.Now()
	user := b.user(t, "ann")
	b.event(t, user, "export", now.Add(-40*day))
	b.event(t, user, "export", now.Add(-time.Hour))
	b.feedback(t, user, now.Add(-40*day), 1)
	updater := project.NewUpdater(b.db, retention.NewEnqueuer(c))
	days := 30
	change := project.Change{Retention: &project.Retention{Days: &days}}

	rolledBack, err := b.db.Begin()
	require.NoError(t, err)
	_, _, err = updater.UpdateTx(b.admin, rolledBack, b.projectID, change)
	require.NoError(t, err)
	require.NoError(t, rolledBack.Rollback())
	require.Zero(t, b.jobsOf(t), "a rolled back change queues nothing")

	tx, err := b.db.Begin()
	require.NoError(t, err)
	before, after, err := updater.UpdateTx(b.admin, tx, b.projectID, change)
	require.NoError(t, err)
	require.Nil(t, before.RetentionDays)
	require.Equal(t, &days, after.RetentionDays)
	require.False(t, b.retentionDays(t).Valid, "not committed yet")
	require.Zero(t, b.jobsOf(t), "nor is the job")
	require.NoError(t, tx.Commit())
	require.Equal(t, int64(30), b.retentionDays(t).Int64)
	require.Equal(t, 1, b.jobsOf(t))

	waitJob(t, events, b.projectID)
	rows := b.rows(t)
	require.Equal(t, []string{"export " + stamp(now.Add(-time.Hour))}, rows[retention.TableEvents])
	require.Empty(t, rows[retention.TableFeedbacks])
	require.Empty(t, rows[retention.TableFeedbackChanges])

	// Unlimited again: nothing to delete, no job.
	_, _, err = updater.Update(b.admin, b.projectID, project.Change{Retention: &project.Retention{}})
	require.NoError(t, err)
	require.False(t, b.retentionDays(t).Valid)
	require.Equal(t, 1, b.jobsOf(t))
}

// TestScheduleQueuesEveryProjectWithARetention: the periodic job queues
// the job of each project with a retention, none of one without.
func TestScheduleQueuesEveryProjectWithARetention(t *testing.T) {
	t.Parallel()
	c := riverClient(t)
	events, cancel := c.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	b := setup(t)
	unlimited := b.other(t, t.Name()+" unlimited")
	b.set(t, "UTC", 90)
	user := b.user(t, "ann")
	b.event(t, user, "export", time.Now().Add(-100*day))

	_, err := c.Insert(context.Background(), scheduleArgs{}, nil)
	require.NoError(t, err)
	waitJob(t, events, b.projectID)
	require.Empty(t, b.rows(t)[retention.TableEvents])
	require.Zero(t, unlimited.jobsOf(t))
}

// scheduleArgs stands for the periodic job (its kind and empty arguments).
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "schedule_retention" }

// TestRetentionLeavesWindowedSegmentsAlone: with a retention longer than
// a segment's windows, the job deletes old events, activity, feedback and
// responses, and a full recompute afterwards moves nobody (drift 0):
// users in by a recent event, by activity, by feedback, by a survey
// answer, and by lastSeen (a column of the user, kept) whose every event
// is gone.
func TestRetentionLeavesWindowedSegmentsAlone(t *testing.T) {
	t.Parallel()
	c := riverClient(t)
	events, cancel := c.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	b := setup(t)
	now := time.Now()
	writer := ingest.NewWriter(b.db)
	ingestCtx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: b.projectID, Role: tenant.RoleIngest})
	n := 0
	track := func(user, event string, ago time.Duration) {
		n++
		res, err := writer.Write(ingestCtx, []ingest.Message{{Type: ingest.TypeTrack, UserID: user, Event: event,
			Timestamp: now.Add(-ago), MessageID: fmt.Sprintf("%s-%d", t.Name(), n)}})
		require.NoError(t, err)
		require.Equal(t, 1, res.Accepted)
	}
	track("ann", "export", 2*day)
	track("ann", "export", 40*day)
	track("bob", "login", 40*day) // only old events: in by lastSeen
	track("cid", "login", 15*day)
	track("dan", "login", 12*day)
	track("eve", "login", day)
	track("eve", "login", 3*day)
	track("fay", "login", 14*day)
	userID := func(externalID string) int {
		var id int
		require.NoError(t, b.db.QueryRow(`SELECT id FROM users WHERE project_id = $1 AND external_id = $2`, b.projectID, externalID).Scan(&id))
		return id
	}
	b.feedback(t, userID("cid"), now.Add(-3*day), 1) // NPS 9: a promoter
	b.feedback(t, userID("fay"), now.Add(-40*day), 1)
	survey := b.survey(t)
	b.response(t, survey, userID("dan"), now.Add(-2*day))
	b.response(t, survey, userID("fay"), now.Add(-40*day))

	store := segment.NewStore(database.NewClient(b.db))
	seg, err := store.Create(b.admin, segment.Definition{Name: "engaged", Rule: mustRule(t, fmt.Sprintf(`{"or":[
		{"event":{"name":"export","withinDays":7}},
		{"activity":{"activeDays":{"op":"GTE","value":2},"withinDays":7}},
		{"feedback":{"npsCategory":"PROMOTER","withinDays":7}},
		{"survey":{"surveyId":%d,"withinDays":7}},
		{"lastSeen":{"moreThanDaysAgo":30}}]}`, survey))})
	require.NoError(t, err)
	enqueuer := recompute.NewEnqueuer(b.db, c)
	recomputeNow := func() int {
		run, err := enqueuer.Enqueue(b.admin, b.projectID, seg.ID, segmentrun.TriggerMANUAL)
		require.NoError(t, err)
		waitRun(t, events, run)
		return run
	}
	recomputeNow()
	members := b.members(t, seg.ID)
	require.Equal(t, []string{"ann", "bob", "cid", "dan", "eve"}, members)

	days := 10
	_, _, err = project.NewUpdater(b.db, retention.NewEnqueuer(c)).Update(b.admin, b.projectID,
		project.Change{Retention: &project.Retention{Days: &days}})
	require.NoError(t, err)
	waitJob(t, events, b.projectID)
	rows := b.rows(t)
	require.Len(t, rows[retention.TableEvents], 3, "ann's recent export and eve's logins; the rest is older than 10 days")
	require.Len(t, rows[retention.TableDailyActivities], 3, "the same three days")
	require.Len(t, rows[retention.TableFeedbacks], 1)
	require.Len(t, rows[retention.TableSurveyResponses], 1)

	run := recomputeNow()
	var entered, exited int
	var drift sql.NullInt64
	require.NoError(t, b.db.QueryRow(`SELECT entered_count, exited_count, drift FROM segment_runs WHERE id = $1`, run).
		Scan(&entered, &exited, &drift))
	require.Zero(t, entered)
	require.Zero(t, exited)
	require.True(t, drift.Valid, "a reconciling recompute")
	require.Zero(t, drift.Int64)
	require.Equal(t, members, b.members(t, seg.ID))
}

func mustRule(t *testing.T, raw string) *segment.Rule {
	t.Helper()
	r, err := segment.Decode([]byte(raw))
	require.NoError(t, err)
	return r
}

func (b *bundle) members(t *testing.T, segmentID int) []string {
	t.Helper()
	rows, err := b.db.Query(`SELECT u.external_id FROM segment_members m JOIN users u ON u.id = m.user_id WHERE m.segment_id = $1 ORDER BY 1`, segmentID)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// waitRun waits for the recompute job of run.
func waitRun(t *testing.T, events <-chan *river.Event, run int) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev := <-events:
			var args recompute.Args
			if ev.Job.Kind != (recompute.Args{}).Kind() || json.Unmarshal(ev.Job.EncodedArgs, &args) != nil || args.RunID != run {
				continue
			}
			require.Equal(t, river.EventKindJobCompleted, ev.Kind, "run %d: %v", run, ev.Job.Errors)
			return
		case <-timeout:
			t.Fatalf("run %d did not complete", run)
		}
	}
}
