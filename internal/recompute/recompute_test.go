package recompute_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// One River client works every test's jobs; tests wait for their own runs
// through its event stream.
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
			SchedulePeriod: -1, ReconcilePeriod: 200 * time.Millisecond, RescueInterval: 200 * time.Millisecond})
		if clientErr == nil {
			client, clientErr = c.River, c.Start(context.Background())
		}
	})
	require.NoError(t, clientErr)
	return client
}

type bundle struct {
	db        *sql.DB
	projectID int
	ctx       context.Context
	writer    *ingest.Writer
	enqueuer  *recompute.Enqueuer
	events    <-chan *river.Event
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	c := riverClient(t)
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	events, cancel := c.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	t.Cleanup(cancel)
	return &bundle{
		db: db, projectID: created.Project.ID,
		ctx:      tenant.ForProject(context.Background(), created.Project.ID),
		writer:   ingest.NewWriter(db),
		enqueuer: recompute.NewEnqueuer(db, c),
		events:   events,
	}
}

// wait blocks until the job of run runID reports kind.
func (b *bundle) wait(t *testing.T, runID int, kind river.EventKind) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-b.events:
			var args recompute.Args
			require.NoError(t, json.Unmarshal(ev.Job.EncodedArgs, &args))
			if args.RunID == runID && ev.Kind == kind {
				return
			}
		case <-timeout:
			t.Fatalf("run %d: no %s event", runID, kind)
		}
	}
}

func (b *bundle) segment(t *testing.T, rule string) int {
	t.Helper()
	var id int
	require.NoError(t, b.db.QueryRow(`INSERT INTO segments (project_id, name, description, kind, rule, refresh_interval_seconds, status, size, definition_version, created_at, updated_at)
		VALUES ($1, 'exporters', '', 'DYNAMIC', $2, 900, 'PENDING', 0, 1, now(), now()) RETURNING id`, b.projectID, rule).Scan(&id))
	return id
}

func (b *bundle) track(t *testing.T, user, event string) {
	t.Helper()
	_, err := b.writer.Write(tenant.NewContext(context.Background(), tenant.Scope{ProjectID: b.projectID, Role: tenant.RoleIngest}),
		[]ingest.Message{{Type: ingest.TypeTrack, UserID: user, Event: event, Timestamp: time.Now().Add(-time.Hour),
			MessageID: fmt.Sprintf("%s-%s-%d", user, event, time.Now().UnixNano())}})
	require.NoError(t, err)
}

func (b *bundle) members(t *testing.T, segmentID int) []string {
	t.Helper()
	return b.strings(t, `SELECT u.external_id FROM segment_members sm JOIN users u ON u.id = sm.user_id
		WHERE sm.segment_id = $1 ORDER BY 1`, segmentID)
}

type runRow struct {
	Status                     string
	Entered, Exited, Size, Seq int
	Error                      sql.NullString
}

func (b *bundle) run(t *testing.T, id int) runRow {
	t.Helper()
	var r runRow
	var size, seq sql.NullInt64
	require.NoError(t, b.db.QueryRow(`SELECT status, entered_count, exited_count, size_after, seq, error FROM segment_runs WHERE id = $1`, id).
		Scan(&r.Status, &r.Entered, &r.Exited, &size, &seq, &r.Error))
	r.Size, r.Seq = int(size.Int64), int(seq.Int64)
	return r
}

// TestRecomputeHistory runs a segment twice with data changing in between:
// members, counts, sequence numbers and intervals follow.
func TestRecomputeHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.track(t, "ann", "export")
	b.track(t, "bob", "export")
	b.track(t, "cid", "login")
	seg := b.segment(t, `{"event":{"name":"export","withinDays":30}}`)

	run1, err := b.enqueuer.Enqueue(b.ctx, b.projectID, seg, segmentrun.TriggerMANUAL)
	require.NoError(t, err)
	b.wait(t, run1, river.EventKindJobCompleted)
	require.Equal(t, []string{"ann", "bob"}, b.members(t, seg))
	require.Equal(t, runRow{Status: "COMPLETED", Entered: 2, Size: 2, Seq: 1}, b.run(t, run1))

	// bob's export leaves the window... by a rule change; cid exports.
	_, err = b.db.Exec(`UPDATE segments SET rule = '{"event":{"name":"export","count":{"op":"GTE","value":1}}}' WHERE id = $1`, seg)
	require.NoError(t, err)
	_, err = b.db.Exec(`DELETE FROM events WHERE project_id = $1 AND user_id = (SELECT id FROM users WHERE external_id = 'bob' AND project_id = $1)`, b.projectID)
	require.NoError(t, err)
	b.track(t, "cid", "export")
	run2, err := b.enqueuer.Enqueue(b.ctx, b.projectID, seg, segmentrun.TriggerDEFINITION_CHANGE)
	require.NoError(t, err)
	b.wait(t, run2, river.EventKindJobCompleted)
	require.Equal(t, []string{"ann", "cid"}, b.members(t, seg))
	require.Equal(t, runRow{Status: "COMPLETED", Entered: 1, Exited: 1, Size: 2, Seq: 2}, b.run(t, run2))

	var status string
	var size int
	require.NoError(t, b.db.QueryRow(`SELECT status, size FROM segments WHERE id = $1`, seg).Scan(&status, &size))
	require.Equal(t, "READY", status)
	require.Equal(t, 2, size)

	// Intervals: bob entered in run 1 and left in run 2; ann is still in.
	var open, closed int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FILTER (WHERE exited_at IS NULL), count(*) FILTER (WHERE exited_run_id = $2)
		FROM segment_memberships WHERE segment_id = $1`, seg, run2).Scan(&open, &closed))
	require.Equal(t, 2, open)
	require.Equal(t, 1, closed)
}

// TestFailureKeepsMembershipAndRetryRecovers: a run that fails leaves the
// members as they were, marks the segment FAILED with the error, and River's
// retry completes it once the cause is gone.
func TestFailureKeepsMembershipAndRetryRecovers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.track(t, "ann", "export")
	seg := b.segment(t, `{"event":{"name":"export"}}`)
	run1, err := b.enqueuer.Enqueue(b.ctx, b.projectID, seg, segmentrun.TriggerMANUAL)
	require.NoError(t, err)
	b.wait(t, run1, river.EventKindJobCompleted)

	// A stored rule that no longer validates makes the next run fail.
	_, err = b.db.Exec(`UPDATE segments SET rule = '{"trait":{"key":"plan","op":"EQ"}}' WHERE id = $1`, seg)
	require.NoError(t, err)
	run2, err := b.enqueuer.Enqueue(b.ctx, b.projectID, seg, segmentrun.TriggerMANUAL)
	require.NoError(t, err)
	b.wait(t, run2, river.EventKindJobFailed)
	require.Equal(t, []string{"ann"}, b.members(t, seg), "the previous membership is intact")
	var status string
	var lastError sql.NullString
	require.NoError(t, b.db.QueryRow(`SELECT status, last_error FROM segments WHERE id = $1`, seg).Scan(&status, &lastError))
	require.Equal(t, "FAILED", status)
	require.Contains(t, lastError.String, "trait.value")
	require.Equal(t, "FAILED", b.run(t, run2).Status)

	_, err = b.db.Exec(`UPDATE segments SET rule = '{"event":{"name":"login","count":{"op":"EQ","value":0}}}' WHERE id = $1`, seg)
	require.NoError(t, err)
	b.wait(t, run2, river.EventKindJobCompleted)
	require.Equal(t, runRow{Status: "COMPLETED", Size: 1, Seq: 2}, b.run(t, run2))
	require.NoError(t, b.db.QueryRow(`SELECT status, last_error FROM segments WHERE id = $1`, seg).Scan(&status, &lastError))
	require.Equal(t, "READY", status)
	require.False(t, lastError.Valid)
}

// TestConcurrentRequestsAllGetARun: concurrent requests for one segment
// (serialised by its lock, so each may come after the previous run
// committed) each get a run that completes, and no other run is made.
func TestConcurrentRequestsAllGetARun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg := b.segment(t, `{"event":{"name":"export"}}`)
	ids := make([]int, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() { ids[i], errs[i] = b.enqueuer.Enqueue(b.ctx, b.projectID, seg, segmentrun.TriggerMANUAL) })
	}
	wg.Wait()
	distinct := map[int]bool{}
	for i := range ids {
		require.NoError(t, errs[i])
		distinct[ids[i]] = true
	}
	for id := range distinct {
		b.waitStatus(t, id, "COMPLETED")
	}
	var runs int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM segment_runs WHERE segment_id = $1`, seg).Scan(&runs))
	require.Equal(t, len(distinct), runs)
}
