package migrate

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"
)

func databaseExists(t *testing.T, b *testBundle, name string) bool {
	t.Helper()
	var exists bool
	require.NoError(t, b.server.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	return exists
}

func dropLater(t *testing.T, b *testBundle, name string) {
	t.Cleanup(func() { _, _ = b.server.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)") })
}

// TestEnsureDatabaseRace creates a missing database from several goroutines
// at once, as processes starting together do: all succeed.
func TestEnsureDatabaseRace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	name := uniqueName("pulse_ensure")
	dropLater(t, b, name)
	dsn := withDatabase(t, name)

	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = EnsureDatabase(context.Background(), dsn) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.True(t, databaseExists(t, b, name))
	require.NoError(t, EnsureDatabase(context.Background(), dsn), "an existing database is fine")
}

// TestEnsureDatabaseKeyValueAndQuoting uses a key=value DSN naming a database
// that only exists as a quoted identifier.
func TestEnsureDatabaseKeyValueAndQuoting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	name := uniqueName(`Pulse-"Quoted" db`)
	dropLater(t, b, name)
	u, err := url.Parse(serverURL())
	require.NoError(t, err)
	dsn := "host=" + u.Hostname() + " port=" + u.Port() + " user=" + u.User.Username() +
		" sslmode=disable dbname='" + name + "'"

	require.NoError(t, EnsureDatabase(context.Background(), dsn))
	require.True(t, databaseExists(t, b, name))
	require.False(t, databaseExists(t, b, "pulse-"), "the name was not split or unquoted")
}
