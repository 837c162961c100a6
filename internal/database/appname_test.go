package database_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestApplicationName: a pool opened with a name shows it in
// pg_stat_activity, in either form of DSN; a DSN that names its
// connections keeps its name.
func TestApplicationName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "postgres://h/db?application_name=pulse+jobs&sslmode=disable",
		database.WithApplicationName("postgres://h/db?sslmode=disable", database.JobsApplicationName))
	require.Equal(t, "postgres://h/db?application_name=mine", database.WithApplicationName("postgres://h/db?application_name=mine", "pulse"))
	require.Equal(t, "host=h dbname=db application_name='pulse jobs'", database.WithApplicationName("host=h dbname=db", database.JobsApplicationName))
	require.Equal(t, "host=h application_name=x", database.WithApplicationName("host=h application_name=x", "pulse"))

	db, err := database.OpenPool(context.Background(), database.WithApplicationName(pgtest.DSN(t), "pulse test"), 1)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	var name string
	require.NoError(t, db.QueryRow(`SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()`).Scan(&name))
	require.Equal(t, "pulse test", name)
}
