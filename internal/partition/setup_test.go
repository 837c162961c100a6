package partition_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// bundle is a migrated database of the test's own (the tests change events'
// layout, which every test of a shared database would see) with a project.
type bundle struct {
	db        *sql.DB
	dsn       string
	projectID int
	ingest    context.Context
	writer    *ingest.Writer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db, dsn := pgtest.Own(t)
	return withProject(t, db, dsn)
}

func withProject(t *testing.T, db *sql.DB, dsn string) *bundle {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	return &bundle{db: db, dsn: dsn, projectID: created.Project.ID, writer: ingest.NewWriter(db),
		ingest: tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleIngest})}
}

// partitions lists the partitions of table, by name, with their ranges as
// text ("MINVALUE" for history's lower bound), in UTC.
func partitions(t *testing.T, db *sql.DB, table string) map[string]string {
	t.Helper()
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), `SET TimeZone = 'UTC'`)
	require.NoError(t, err)
	defer func() { _, _ = conn.ExecContext(context.Background(), `RESET TimeZone`) }()
	rows, err := conn.QueryContext(context.Background(), `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)`, table)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, bound string
		require.NoError(t, rows.Scan(&name, &bound))
		out[name] = bound
	}
	require.NoError(t, rows.Err())
	return out
}

// monthBound is the partition bound of the month starting at month, as
// PostgreSQL writes it in UTC.
func monthBound(month time.Time) string {
	return "FOR VALUES FROM ('" + month.Format("2006-01-02 15:04:05") + "+00') TO ('" +
		month.AddDate(0, 1, 0).Format("2006-01-02 15:04:05") + "+00')"
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(query, args...).Scan(&n))
	return n
}

func run(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	_, err := db.Exec(query, args...)
	require.NoError(t, err)
}
