package recompute_test

import (
	"fmt"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// ingestRunsAfter are the INGEST runs of segments with an id above runID,
// as "segment entered+exited-", in the order they were created.
func (b *bundle) ingestRunsAfter(t *testing.T, runID int, segments ...int) []string {
	t.Helper()
	return b.strings(t, `SELECT segment_id || ' ' || entered_count || '+' || exited_count || '-' FROM segment_runs
		WHERE segment_id = ANY($1::bigint[]) AND trigger = 'INGEST' AND status = 'COMPLETED' AND id > $2 ORDER BY id`,
		pq.Array(segments), runID)
}

func (b *bundle) lastRunID(t *testing.T) int {
	t.Helper()
	var id int
	require.NoError(t, b.db.QueryRow(`SELECT COALESCE(max(id), 0) FROM segment_runs WHERE project_id = $1`, b.projectID).Scan(&id))
	return id
}

// TestNestedChainPropagatesInOrder: a change that moves the root of a
// chain of three segments (pro <- in pro <- in in pro, and not in pro
// beside the last) moves every level, entering and exiting, though only
// the root reads the change: each level's run marks the next. A dependent's
// run comes after the run of the segment it reads, since its marks are
// written in that run's transaction; run ids, taken once the dependent's
// pass has read those committed marks, show the order.
func TestNestedChainPropagatesInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pro := b.realtimeSegment(t, "pro", `{"trait":{"key":"plan","op":"EQ","value":"pro"}}`)
	inPro := b.realtimeSegment(t, "in pro", fmt.Sprintf(`{"inSegment":%d}`, pro))
	inInPro := b.realtimeSegment(t, "in in pro", fmt.Sprintf(`{"inSegment":%d}`, inPro))
	notInPro := b.realtimeSegment(t, "not in in pro", fmt.Sprintf(`{"not":{"inSegment":%d}}`, inPro))
	chain := []int{pro, inPro, inInPro, notInPro}
	caughtUp := func() {
		for _, seg := range chain {
			b.waitPassed(t, seg)
		}
	}

	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "gus", Traits: map[string]any{"plan": "free"}})
	b.waitMembers(t, notInPro, "gus")
	caughtUp()

	for _, step := range []struct {
		plan         string
		in, out      string
		inMembers    []string
		notInMembers []string
	}{
		{plan: "pro", in: "1+0-", out: "0+1-", inMembers: []string{"gus"}},
		{plan: "free", in: "0+1-", out: "1+0-", notInMembers: []string{"gus"}},
	} {
		before := b.lastRunID(t)
		b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "gus", Traits: map[string]any{"plan": step.plan}})
		b.waitMembers(t, inInPro, step.inMembers...)
		b.waitMembers(t, notInPro, step.notInMembers...)
		caughtUp()
		require.Equal(t, step.inMembers, b.members(t, pro))
		require.Equal(t, step.inMembers, b.members(t, inPro))
		runs := b.ingestRunsAfter(t, before, chain...)
		require.Len(t, runs, 4, "plan %s: one run per level: %v", step.plan, runs)
		require.Equal(t, []string{fmt.Sprintf("%d %s", pro, step.in), fmt.Sprintf("%d %s", inPro, step.in)}, runs[:2],
			"plan %s: the root, then what reads it", step.plan)
		require.ElementsMatch(t, []string{fmt.Sprintf("%d %s", inInPro, step.in), fmt.Sprintf("%d %s", notInPro, step.out)}, runs[2:],
			"plan %s: then what reads that", step.plan)
	}
}
