package recompute_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// TestAliasMergeMovesBothKnownUsers: an alias merges one known user into
// another. The survivor enters the segments the merged history now
// qualifies it for (two exports between them, the other's share and
// trait), and the merged-away user leaves every segment it was in, its
// intervals closed as exits.
func TestAliasMergeMovesBothKnownUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	twice := b.realtimeSegment(t, "exported twice", `{"event":{"name":"export","count":{"op":"GTE","value":2}}}`)
	sharers := b.realtimeSegment(t, "sharers", `{"event":{"name":"share"}}`)
	pro := b.realtimeSegment(t, "pro", `{"trait":{"key":"plan","op":"EQ","value":"pro"}}`)
	b.write(t,
		ingest.Message{Type: ingest.TypeTrack, UserID: "kay", Event: "export"},
		ingest.Message{Type: ingest.TypeTrack, UserID: "lee", Event: "export"},
		ingest.Message{Type: ingest.TypeTrack, UserID: "lee", Event: "share"},
		ingest.Message{Type: ingest.TypeIdentify, UserID: "lee", Traits: map[string]any{"plan": "pro"}})
	b.waitMembers(t, sharers, "lee")
	b.waitMembers(t, pro, "lee")
	for _, seg := range []int{twice, sharers, pro} {
		b.waitPassed(t, seg)
	}
	require.Empty(t, b.members(t, twice), "one export each")
	lee := b.strings(t, `SELECT id::text FROM users WHERE project_id = $1 AND external_id = 'lee'`, b.projectID)
	require.Len(t, lee, 1)

	b.write(t, ingest.Message{Type: ingest.TypeAlias, UserID: "kay", PreviousID: "lee"})
	b.waitMembers(t, twice, "kay")
	b.waitMembers(t, sharers, "kay")
	b.waitMembers(t, pro, "kay")
	require.Equal(t, []string{"1+0-"}, b.ingestRuns(t, twice))
	require.Equal(t, []string{"1+0-", "1+1-"}, b.ingestRuns(t, sharers), "kay in, lee out, in one run")
	require.Equal(t, []string{"1+0-", "1+1-"}, b.ingestRuns(t, pro), "kay in, lee out, in one run")
	for _, seg := range []int{twice, sharers, pro} {
		require.Equal(t, 1, b.size(t, seg))
		require.Equal(t, []string{"kay"}, b.strings(t, `SELECT COALESCE(u.external_id, 'user ' || m.user_id) FROM segment_memberships m
			LEFT JOIN users u ON u.id = m.user_id WHERE m.segment_id = $1 AND m.exited_at IS NULL`, seg), "segment %d: only kay's interval is open", seg)
	}
	for _, seg := range []int{sharers, pro} {
		require.Equal(t, []string{"closed"}, b.strings(t, `SELECT CASE WHEN exited_at IS NULL THEN 'open' ELSE 'closed' END
			FROM segment_memberships WHERE segment_id = $1 AND user_id = $2`, seg, lee[0]), "segment %d: lee's interval ends as an exit", seg)
	}
	require.Equal(t, []string{"0"}, b.strings(t, `SELECT count(*)::text FROM users WHERE project_id = $1 AND external_id = 'lee'`, b.projectID))
}
