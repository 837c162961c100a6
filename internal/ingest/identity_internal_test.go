package ingest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestIsAnonymousReportsFailures: whether an identified id's owner is
// anonymous decides a merge, so a failed read is an error, never "not
// anonymous": a user merged away meanwhile is a stale user (the batch is
// tried again), any other failure fails the batch.
func TestIsAnonymousReportsFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(ctx, database.NewClient(db), t.Name())
	require.NoError(t, err)
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	r := newResolver(dbtx{Tx: tx, stmts: newStatements(db)}, created.Project.ID)

	var visitor int
	require.NoError(t, tx.QueryRowContext(ctx, insertAnonymousUser, created.Project.ID).Scan(&visitor))
	anonymous, err := r.isAnonymous(ctx, visitor)
	require.NoError(t, err)
	require.True(t, anonymous)

	_, err = r.isAnonymous(ctx, visitor+1_000_000)
	require.ErrorIs(t, err, errStaleUser, "a user that is gone")

	_, err = tx.ExecContext(ctx, `SELECT 1/0`)
	require.Error(t, err)
	_, err = r.isAnonymous(ctx, visitor)
	require.ErrorContains(t, err, "current transaction is aborted", "a failed read is not \"not anonymous\"")
}
