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

	synced, err := b.enqueuer.SyncRealtimeSources(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, synced)
	require.Equal(t, []string{`["event:export"]`}, b.strings(t, `SELECT realtime_sources::text FROM segments WHERE id = $1`, exporters))
	b.waitMembers(t, exporters, "ann")
	require.Equal(t, []string{"DEFINITION_CHANGE 1"}, b.strings(t, `SELECT trigger || ' ' || entered_count FROM segment_runs
		WHERE segment_id = $1 AND status = 'COMPLETED' AND drift IS NULL AND entered_count > 0 ORDER BY id`, exporters),
		"the catch-up run reconciles nothing")

	synced, err = b.enqueuer.SyncRealtimeSources(b.ctx)
	require.NoError(t, err)
	require.Zero(t, synced, "the sources are those of the rule")

	b.write(t, ingest.Message{Type: ingest.TypeTrack, UserID: "bob", Event: "export"})
	b.waitMembers(t, exporters, "ann", "bob")
	require.Equal(t, []string{"1+0-"}, b.ingestRuns(t, exporters), "bob entered by a pass")
}
