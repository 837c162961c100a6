package audit_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/audit"
)

// TestRecordAllWritesAnEntryEach: RecordAll writes one entry per object,
// in one statement, with the mutation's key and origin, a user's id as
// none, and Finish adds nothing.
func TestRecordAllWritesAnEntryEach(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := audit.Begin(b.request, "deleteUsers", 0)
	require.NoError(t, audit.RecordAll(ctx, b.db, []audit.Entry{
		{ObjectID: 7, After: map[string]any{"n": 1}},
		{ObjectID: 47244640256 + 5, Before: map[string]any{"n": 0}}, // a user's id
		{ObjectID: 9},
	}))
	require.NoError(t, audit.Finish(ctx, b.db))
	entries := b.entries(t)
	require.Len(t, entries, 3)
	require.Equal(t, 7, *entries[0].ObjectID)
	require.JSONEq(t, `{"n":1}`, string(entries[0].After))
	require.Nil(t, entries[0].Before)
	require.Nil(t, entries[1].ObjectID, "an end user's id is never an entry's object")
	require.JSONEq(t, `{"n":0}`, string(entries[1].Before))
	require.Equal(t, 9, *entries[2].ObjectID)
	for _, e := range entries {
		require.Equal(t, "deleteUsers", e.Action)
		require.Equal(t, b.key.ID, *e.KeyID)
		require.Equal(t, b.key.Prefix, *e.KeyPrefix)
		require.Equal(t, "req-1", *e.RequestID)
		require.Equal(t, "192.0.2.7", *e.SourceIP)
	}
	require.NoError(t, audit.RecordAll(b.request, b.db, []audit.Entry{{ObjectID: 1}}), "outside a mutation")
	require.Len(t, b.entries(t), 3, "nothing is recorded outside a mutation")
}
