package recompute_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// rowVersions is every current and historical membership row of a segment
// with the transaction that last wrote it.
func (b *bundle) rowVersions(t *testing.T, segmentID int) []string {
	t.Helper()
	return b.strings(t, `
		SELECT 'member ' || user_id || ' ' || xmin::text FROM segment_members WHERE segment_id = $1
		UNION ALL SELECT 'interval ' || id || ' ' || xmin::text FROM segment_memberships WHERE segment_id = $1
		ORDER BY 1`, segmentID)
}

func (b *bundle) recompute(t *testing.T, segmentID int) runRow {
	t.Helper()
	run, err := b.enqueuer.Enqueue(b.ctx, b.projectID, segmentID, segmentrun.TriggerMANUAL)
	require.NoError(t, err)
	b.wait(t, run, river.EventKindJobCompleted)
	return b.run(t, run)
}

// TestUnchangedRunWritesNothing: a run that finds the members the segment
// already has completes with nothing entered or exited and leaves every
// membership row as it was.
func TestUnchangedRunWritesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.track(t, "ann", "export")
	b.track(t, "bob", "export")
	seg := b.segment(t, `{"event":{"name":"export","withinDays":30}}`)
	require.Equal(t, runRow{Status: "COMPLETED", Entered: 2, Size: 2, Seq: 1}, b.recompute(t, seg))
	before := b.rowVersions(t, seg)
	require.Len(t, before, 4)

	require.Equal(t, runRow{Status: "COMPLETED", Size: 2, Seq: 2}, b.recompute(t, seg))
	require.Equal(t, before, b.rowVersions(t, seg))
}

// TestMergeExitsTheMergedUser: the memberships have no foreign keys; those
// of the user a merge deletes stay until the next run, which records its
// exit (sizes stay exact, the change is announced) and puts the user
// merged into where the rule says.
func TestMergeExitsTheMergedUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: b.projectID, Role: tenant.RoleIngest})
	_, err := b.writer.Write(ctx, []ingest.Message{{Type: ingest.TypeTrack, AnonymousID: "visitor", Event: "export",
		Timestamp: time.Now().Add(-time.Hour), MessageID: "visit-1"}})
	require.NoError(t, err)
	var anonymous int
	require.NoError(t, b.db.QueryRow(`SELECT id FROM users WHERE project_id = $1 AND external_id IS NULL`, b.projectID).Scan(&anonymous))
	seg := b.segment(t, `{"event":{"name":"export"}}`)
	require.Equal(t, runRow{Status: "COMPLETED", Entered: 1, Size: 1, Seq: 1}, b.recompute(t, seg))

	_, err = b.writer.Write(ctx, []ingest.Message{{Type: ingest.TypeIdentify, UserID: "kim", AnonymousID: "visitor", MessageID: "identify-1"}})
	require.NoError(t, err)
	require.Equal(t, runRow{Status: "COMPLETED", Entered: 1, Exited: 1, Size: 1, Seq: 2}, b.recompute(t, seg))
	require.Equal(t, []string{"kim"}, b.members(t, seg))
	var open, current int
	require.NoError(t, b.db.QueryRow(`SELECT (SELECT count(*) FROM segment_members WHERE user_id = $1),
		(SELECT count(*) FROM segment_memberships WHERE user_id = $1 AND exited_at IS NULL)`, anonymous).Scan(&current, &open))
	require.Zero(t, current+open, "the merged user's membership ended with the run")
}
