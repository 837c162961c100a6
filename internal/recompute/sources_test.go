package recompute_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// TestOlderSegmentsBecomeRealtime: a segment made before real time
// existed has no sources, so ingestion marks none of its users. Syncing
// the sources gives it those of its rule with a recompute that catches up
// on what ingestion did not mark (as no drift), and from then on it moves
// in real time; a second sync changes nothing.
func TestOlderSegmentsBecomeRealtime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exporters := b.realtimeSegment(t, "exporters", `{"event":{"name":"export"}}`)
	_, err := b.db.Exec(`UPDATE segments SET realtime_sources = NULL, swept_at = NULL WHERE id = $1`, exporters)
	require.NoError(t, err)

	b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: "ann", Event: "export"})
	require.Empty(t, b.marked(t, exporters), "a segment without sources is not marked")

	synced, err := b.enqueuer.SyncRealtimeSources(b.ctx, b.projectID)
	require.NoError(t, err)
	require.Equal(t, 1, synced)
	require.Equal(t, []string{`["event:export"]`}, b.strings(t, `SELECT realtime_sources::text FROM segments WHERE id = $1`, exporters))
	b.waitMembers(t, exporters, "ann")
	require.Equal(t, []string{"DEFINITION_CHANGE 1"}, b.strings(t, `SELECT trigger || ' ' || entered_count FROM segment_runs
		WHERE segment_id = $1 AND status = 'COMPLETED' AND drift IS NULL AND entered_count > 0 ORDER BY id`, exporters),
		"the catch-up run reconciles nothing")

	synced, err = b.enqueuer.SyncRealtimeSources(b.ctx, b.projectID)
	require.NoError(t, err)
	require.Zero(t, synced, "the sources are those of the rule")

	b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: "bob", Event: "export"})
	b.waitMembers(t, exporters, "ann", "bob")
	require.Equal(t, []string{"1+0-"}, b.ingestRuns(t, exporters), "bob entered by a pass")
}

// TestRealtimeBackOnCatchesUp: while a project's real time is off, its
// changes mark no one. Turning it back on restarts the segments in the
// same transaction (a recompute of each, the sweeps from now): rolled
// back, it requests nothing; committed, the segment catches up on what
// changed meanwhile, and moves in real time again.
func TestRealtimeBackOnCatchesUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exporters := b.realtimeSegment(t, "exporters", `{"event":{"name":"export"}}`)
	_, err := b.db.Exec(`UPDATE projects SET realtime = false WHERE id = $1`, b.projectID)
	require.NoError(t, err)
	b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: "ann", Event: "export"})
	require.Empty(t, b.marked(t, exporters), "real time is off")
	runs := func() []string {
		return b.strings(t, `SELECT trigger || ' ' || status FROM segment_runs WHERE segment_id = $1 ORDER BY id`, exporters)
	}
	before := runs()

	turnOn := func(commit bool) {
		tx, err := b.db.BeginTx(b.ctx, nil)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback() }()
		_, err = tx.Exec(`UPDATE projects SET realtime = true WHERE id = $1`, b.projectID)
		require.NoError(t, err)
		require.NoError(t, b.enqueuer.RestartTx(b.ctx, tx, b.projectID))
		if commit {
			require.NoError(t, tx.Commit())
		}
	}
	turnOn(false)
	require.Equal(t, before, runs(), "a rolled-back change requests no run")

	turnOn(true)
	b.waitMembers(t, exporters, "ann")
	require.Equal(t, append(before, "DEFINITION_CHANGE COMPLETED"), runs())
	b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: "bob", Event: "export"})
	b.waitMembers(t, exporters, "ann", "bob")
}
