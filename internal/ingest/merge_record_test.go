package ingest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// TestMergesAreRecorded: every merge records the id merged away and the
// user it went into, and a merge of that user into another moves the
// records along, so each points at the user that survives (an erasure of
// it reaches every id merged into it with one probe). A batch without a
// merge records nothing.
func TestMergesAreRecorded(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().Add(-time.Hour).UTC()
	b.write(t, track("ann", "export", "r-1", at), track("anna", "export", "r-2", at))
	require.Zero(t, b.count(t, `SELECT count(*) FROM user_merges WHERE project_id = $1`), "no merge, no record")

	b.write(t, ingest.Message{Type: ingest.TypePage, AnonymousID: "visitor", Name: "home", MessageID: "r-3", Timestamp: at})
	var visitor int
	require.NoError(t, b.db.QueryRow(`SELECT user_id FROM identities WHERE project_id = $1 AND anonymous_id = 'visitor'`, b.projectID).Scan(&visitor))
	ann, anna := b.user(t, "ann").ID, b.user(t, "anna").ID
	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "ann", AnonymousID: "visitor", MessageID: "r-4", Timestamp: at})
	merges := func() map[int]int {
		rows, err := b.db.Query(`SELECT merged_user_id, user_id FROM user_merges WHERE project_id = $1`, b.projectID)
		require.NoError(t, err)
		defer rows.Close()
		out := map[int]int{}
		for rows.Next() {
			var from, into int
			require.NoError(t, rows.Scan(&from, &into))
			out[from] = into
		}
		require.NoError(t, rows.Err())
		return out
	}
	require.Equal(t, map[int]int{visitor: ann}, merges(), "the visitor went into ann")

	b.write(t, aliasOf("ann", "anna", "r-5"))
	require.Equal(t, map[int]int{visitor: anna, ann: anna}, merges(), "ann went into anna, and the visitor with her")
}
