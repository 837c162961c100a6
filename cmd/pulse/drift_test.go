package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestDriftIsMeasuredAndCounted: a change the incremental path never saw
// (a trait written behind ingestion's back, so no user is marked) is moved
// by the next reconciling full recompute, which records it as drift on the
// run and in pulse_segment_drift_total. Drift 0 elsewhere means something
// only because this test can see it otherwise. The database is the test's
// own: the metric is its server's, and in the package's database any
// test's server may run the recompute.
func TestDriftIsMeasuredAndCounted(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.Own(t)
	base := serveInProcess(t, dsn, io.Discard, "--log-level", "warn")
	project := createProject(t, dsn, "Drift")
	var created struct {
		Data struct{ CreateSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, base, project.Keys.Admin,
		`mutation { createSegment(input: {name: "pro", rule: {trait: {key: "plan", op: EQ, value: "pro"}}}) { id } }`, nil), &created))
	segmentID := created.Data.CreateSegment.ID
	for _, user := range []string{"drift-ann", "drift-bob"} {
		batch(t, base, project.Keys.Ingest, map[string]any{"type": "identify", "userId": user, "traits": map[string]any{"plan": "pro"}})
	}
	waitSize(t, base, project.Keys.Read, segmentID, 2)

	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	// The segment's first full run may have counted both users while their
	// marks still wait for a pass; a mark waiting is not drift, so the
	// change behind ingestion's back must come after the passes.
	waitNoMarks(t, db, project.Project.Name)
	_, err = db.Exec(`UPDATE users SET traits = '{"plan":"free"}' WHERE external_id = 'drift-ann'`)
	require.NoError(t, err)

	var queued struct {
		Data struct{ RecomputeSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, base, project.Keys.Admin, `mutation($id: ID!) { recomputeSegment(id: $id) { id } }`,
		map[string]any{"id": segmentID}), &queued))
	run := waitRunCompleted(t, base, project.Keys.Read, queued.Data.RecomputeSegment.ID)
	if run.Exited != 1 || run.Drift == nil || *run.Drift != 1 {
		drift := "null"
		if run.Drift != nil {
			drift = fmt.Sprint(*run.Drift)
		}
		t.Fatalf("run %s exited %d with drift %s, want 1 and 1: ann left, and no pass knew of it\n%s",
			queued.Data.RecomputeSegment.ID, run.Exited, drift, runHistory(t, db, project.Project.Name))
	}
	require.Equal(t, 1.0, scrapeMetrics(t, base+"/metrics")[`pulse_segment_drift_total`])
}

// runHistory describes the project's runs and waiting marks, for a failure
// message.
func runHistory(t *testing.T, db *sql.DB, projectName string) string {
	t.Helper()
	var out strings.Builder
	rows, err := db.Query(`SELECT r.id, r.trigger, r.status, r.entered_count, r.exited_count, COALESCE(r.drift::text, 'null'),
			to_char(r.created_at, 'HH24:MI:SS.US'), COALESCE(to_char(r.finished_at, 'HH24:MI:SS.US'), '')
		FROM segment_runs r JOIN projects p ON p.id = r.project_id WHERE p.name = $1 ORDER BY r.id`, projectName)
	require.NoError(t, err)
	defer rows.Close()
	out.WriteString("runs (id trigger status entered exited drift created finished):\n")
	for rows.Next() {
		var id, entered, exited int
		var trigger, status, drift, created, finished string
		require.NoError(t, rows.Scan(&id, &trigger, &status, &entered, &exited, &drift, &created, &finished))
		fmt.Fprintf(&out, "  %d %s %s %d %d %s %s %s\n", id, trigger, status, entered, exited, drift, created, finished)
	}
	require.NoError(t, rows.Err())
	marks, err := db.Query(`SELECT u.external_id, to_char(d.marked_at, 'HH24:MI:SS.US') FROM segment_dirty_users d
		JOIN projects p ON p.id = d.project_id JOIN users u ON u.id = d.user_id WHERE p.name = $1 ORDER BY d.marked_at`, projectName)
	require.NoError(t, err)
	defer marks.Close()
	out.WriteString("marks waiting (user marked):\n")
	for marks.Next() {
		var user, at string
		require.NoError(t, marks.Scan(&user, &at))
		fmt.Fprintf(&out, "  %s %s\n", user, at)
	}
	require.NoError(t, marks.Err())
	return out.String()
}

// completedRun is what the tests read of a completed run.
type completedRun struct {
	Status  string
	Drift   *int
	Entered int `json:"enteredCount"`
	Exited  int `json:"exitedCount"`
}

// waitRunCompleted waits until run runID is COMPLETED and returns it.
func waitRunCompleted(t *testing.T, base, key, runID string) completedRun {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		require.True(t, time.Now().Before(deadline), "run %s never completed", runID)
		var run struct {
			Data struct{ Node completedRun }
		}
		require.NoError(t, json.Unmarshal(graphqlPost(t, base, key,
			`query($id: ID!) { node(id: $id) { ... on SegmentRun { status drift enteredCount exitedCount } } }`,
			map[string]any{"id": runID}), &run))
		if run.Data.Node.Status == "COMPLETED" {
			return run.Data.Node
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitNoMarks waits until no user of the project (its name unique in
// the package's database) waits for a pass.
func waitNoMarks(t *testing.T, db *sql.DB, projectName string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var marks int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM segment_dirty_users d JOIN projects p ON p.id = d.project_id WHERE p.name = $1`, projectName).Scan(&marks))
		if marks == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "%d users still wait for a pass", marks)
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSize waits until the segment has size members.
func waitSize(t *testing.T, base, key, segmentID string, size int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got struct {
			Data struct{ Node struct{ Size int } }
		}
		require.NoError(t, json.Unmarshal(graphqlPost(t, base, key, `query($id: ID!) { node(id: $id) { ... on Segment { size } } }`,
			map[string]any{"id": segmentID}), &got))
		if got.Data.Node.Size == size {
			return
		}
		require.True(t, time.Now().Before(deadline), "segment %s has %d members, want %d", segmentID, got.Data.Node.Size, size)
		time.Sleep(50 * time.Millisecond)
	}
}
