package database_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// bundle is one connection of a GraphQL pool, pinned so that the
// statements it prepares can be counted, and a table of its own.
type bundle struct {
	ctx   context.Context
	conn  *sql.Conn
	table string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	pool, err := database.OpenGraphQLPool(ctx, pgtest.DSN(t), 1)
	require.NoError(t, err)
	t.Cleanup(func() { _ = pool.Close() })
	conn, err := pool.Conn(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	b := &bundle{ctx: ctx, conn: conn, table: "stmtcache_" + t.Name()}
	_, err = pgtest.DB(t).ExecContext(ctx, fmt.Sprintf(`CREATE TABLE %q (a int); INSERT INTO %q SELECT generate_series(1, 5)`, b.table, b.table))
	require.NoError(t, err)
	return b
}

// prepared is how many statements the session has prepared.
func (b *bundle) prepared(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, b.conn.QueryRowContext(b.ctx, `SELECT count(*) FROM pg_prepared_statements`).Scan(&n))
	return n
}

// TestStatementsArePreparedOnce runs a query with parameters three times:
// it is prepared once and answers each time with its own arguments.
func TestStatementsArePreparedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	query := fmt.Sprintf(`SELECT count(*) FROM %q WHERE a <= $1`, b.table)
	for _, limit := range []int{1, 3, 5} {
		var n int
		require.NoError(t, b.conn.QueryRowContext(b.ctx, query, limit).Scan(&n))
		require.Equal(t, limit, n)
	}
	require.Equal(t, 1, b.prepared(t))

	// In a transaction too, and a statement run for its effect is not kept.
	tx, err := b.conn.BeginTx(b.ctx, nil)
	require.NoError(t, err)
	var n int
	require.NoError(t, tx.QueryRowContext(b.ctx, query, 2).Scan(&n))
	require.Equal(t, 2, n)
	_, err = tx.ExecContext(b.ctx, fmt.Sprintf(`DELETE FROM %q WHERE a = $1`, b.table), 1)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	require.Equal(t, 1, b.prepared(t))
}

// TestStaleStatementIsPreparedAgain changes a table under a prepared
// statement, as a migration would: the statement is prepared again and
// sees the new column.
func TestStaleStatementIsPreparedAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	query := fmt.Sprintf(`SELECT * FROM %q WHERE a = $1`, b.table)
	columns := func() []string {
		rows, err := b.conn.QueryContext(b.ctx, query, 1)
		require.NoError(t, err)
		defer rows.Close()
		names, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
		}
		require.NoError(t, rows.Err())
		return names
	}
	require.Equal(t, []string{"a"}, columns())
	_, err := pgtest.DB(t).ExecContext(b.ctx, fmt.Sprintf(`ALTER TABLE %q ADD COLUMN b text`, b.table))
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, columns())
	require.Equal(t, 1, b.prepared(t))
}

// TestCacheIsBounded runs more distinct queries than a connection keeps:
// the least recently used are closed on the server.
func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range database.StmtCacheSize + 10 {
		var n int
		require.NoError(t, b.conn.QueryRowContext(b.ctx, fmt.Sprintf(`SELECT count(*) + %d FROM %q WHERE a > $1`, i, b.table), 0).Scan(&n))
		require.Equal(t, 5+i, n)
	}
	require.Equal(t, database.StmtCacheSize, b.prepared(t))
}
