package audit_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/auditentry"
	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// bundle is a project of the test's own and a context carrying its ADMIN
// key and a request's origin, as a request would.
type bundle struct {
	db      *sql.DB
	client  *ent.Client
	project int
	key     *ent.APIKey
	request context.Context
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	created, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	key := created.Admin.Key
	ctx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleAdmin,
		KeyID: key.ID, KeyPrefix: key.Prefix})
	ctx = audit.WithOrigin(ctx, audit.Origin{RequestID: "req-1", SourceIP: "192.0.2.7"})
	return &bundle{db: db, client: client, project: created.Project.ID, key: key, request: ctx}
}

func (b *bundle) entries(t *testing.T) []*ent.AuditEntry {
	t.Helper()
	entries, err := b.client.AuditEntry.Query().Order(ent.Asc(auditentry.FieldID)).
		All(tenant.ForProject(context.Background(), b.project))
	require.NoError(t, err)
	return entries
}

// TestRecordCommitsWithTheChange: an entry Recorded in a transaction exists
// exactly when that transaction commits, and then Finish adds none.
func TestRecordCommitsWithTheChange(t *testing.T) {
	t.Parallel()
	b := setup(t)

	ctx := audit.Begin(b.request, "renameThing", 0)
	tx, err := b.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, audit.Record(ctx, tx, 42, map[string]any{"name": "a"}, map[string]any{"name": "b"}))
	require.NoError(t, tx.Rollback())
	require.Empty(t, b.entries(t), "rolled back with the change")

	ctx = audit.Begin(b.request, "renameThing", 0)
	tx, err = b.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	started := time.Now()
	require.NoError(t, audit.Record(ctx, tx, 42, map[string]any{"name": "a"}, map[string]any{"name": "b"}))
	require.Empty(t, b.entries(t), "not visible before the commit")
	require.NoError(t, tx.Commit())
	require.NoError(t, audit.Finish(ctx, b.db))

	entries := b.entries(t)
	require.Len(t, entries, 1, "Finish adds nothing to a recorded change")
	e := entries[0]
	require.Equal(t, "renameThing", e.Action)
	require.Equal(t, 42, *e.ObjectID)
	require.Equal(t, b.key.ID, *e.KeyID)
	require.Equal(t, b.key.Prefix, *e.KeyPrefix)
	require.Equal(t, "req-1", *e.RequestID)
	require.Equal(t, "192.0.2.7", *e.SourceIP)
	require.WithinRange(t, e.At, started.Add(-time.Millisecond), time.Now())
	require.JSONEq(t, `{"name":"a"}`, string(e.Before))
	require.JSONEq(t, `{"name":"b"}`, string(e.After))
	require.Equal(t, b.project, e.ProjectID)
}

// TestFinishWritesWhatChangeAttached: a mutation that recorded nothing
// gets one entry from Finish, naming the object Begin or Change gave.
func TestFinishWritesWhatChangeAttached(t *testing.T) {
	t.Parallel()
	b := setup(t)

	ctx := audit.Begin(b.request, "recomputeThing", 7)
	require.NoError(t, audit.Finish(ctx, b.db))
	ctx = audit.Begin(b.request, "updateThing", 7)
	audit.Change(ctx, 0, nil, map[string]any{"first": true})
	audit.Change(ctx, 9, json.RawMessage(`{"v":1}`), map[string]any{"v": 2})
	require.NoError(t, audit.Finish(ctx, b.db))

	entries := b.entries(t)
	require.Len(t, entries, 2)
	require.Equal(t, "recomputeThing", entries[0].Action)
	require.Equal(t, 7, *entries[0].ObjectID, "the object Begin named")
	require.Nil(t, entries[0].Before)
	require.Nil(t, entries[0].After)
	require.Equal(t, "updateThing", entries[1].Action)
	require.Equal(t, 9, *entries[1].ObjectID, "the last Change wins")
	require.JSONEq(t, `{"v":1}`, string(entries[1].Before))
	require.JSONEq(t, `{"v":2}`, string(entries[1].After))
}

// TestSeveralRecordsAreSeveralEntries: a mutation that changes several
// objects in transactions of their own records one entry per object.
func TestSeveralRecordsAreSeveralEntries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := audit.Begin(b.request, "recomputeAll", 0)
	for _, id := range []int{3, 4} {
		require.NoError(t, audit.Record(ctx, b.db, id, nil, map[string]any{"run": id}))
	}
	require.NoError(t, audit.Finish(ctx, b.db))
	entries := b.entries(t)
	require.Len(t, entries, 2)
	require.Equal(t, 3, *entries[0].ObjectID)
	require.Equal(t, 4, *entries[1].ObjectID)
}

// TestOutsideAMutationNothingIsRecorded: jobs and the CLI change things
// without a mutation; Record, Change and Finish leave no entry for them.
func TestOutsideAMutationNothingIsRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.NoError(t, audit.Record(b.request, b.db, 1, nil, "x"))
	audit.Change(b.request, 1, nil, "x")
	require.NoError(t, audit.Finish(b.request, b.db))
	require.Empty(t, b.entries(t))
}

// TestEntriesWithoutKeyOrOrigin store NULL rather than empty values, an
// end user's id is never stored, and a mutation without a project is
// refused rather than recorded nowhere.
func TestEntriesWithoutKeyOrOrigin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	internal := tenant.ForProject(context.Background(), b.project)
	require.NoError(t, audit.Finish(audit.Begin(internal, "internalThing", 0), b.db))
	e := b.entries(t)[0]
	require.Nil(t, e.ObjectID)
	require.Nil(t, e.KeyID)
	require.Nil(t, e.KeyPrefix)
	require.Nil(t, e.RequestID)
	require.Nil(t, e.SourceIP)

	// A user's id (the id argument of a mutation about a user) is never
	// stored: the log outlives the user's erasure.
	u, err := b.client.User.Create().SetExternalID("ann").Save(internal)
	require.NoError(t, err)
	ctx := audit.Begin(b.request, "aboutAUser", u.ID)
	require.NoError(t, audit.Record(ctx, b.db, u.ID, nil, map[string]any{"erased": 1}))
	require.Nil(t, b.entries(t)[1].ObjectID)

	err = audit.Finish(audit.Begin(context.Background(), "unscoped", 0), b.db)
	require.ErrorIs(t, err, audit.ErrNoProject)
	require.Len(t, b.entries(t), 2)
}
