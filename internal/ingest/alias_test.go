package ingest_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// The tests in this file put concurrent batches in a chosen order: a test
// transaction holds a user's row, so that a batch stops on it, and the
// next batch starts only once PostgreSQL shows the first waiting on a lock.

func aliasOf(previous, user, messageID string) ingest.Message {
	return ingest.Message{Type: ingest.TypeAlias, UserID: user, PreviousID: previous, MessageID: messageID}
}

// holdUser locks a user's row FOR SHARE until the returned transaction
// ends: batches that lock it for an update or a merge wait.
func (b *writerBundle) holdUser(t *testing.T, externalID string) *sql.Tx {
	t.Helper()
	tx, err := b.db.Begin()
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	_, err = tx.Exec(`SELECT 1 FROM users WHERE id = $1 FOR SHARE`, b.user(t, externalID).ID)
	require.NoError(t, err)
	return tx
}

// writeAsync writes a batch with a writer of its own (another process),
// returning its error when done.
func (b *writerBundle) writeAsync(msgs ...ingest.Message) <-chan error {
	done := make(chan error, 1)
	w := ingest.NewWriter(b.db)
	go func() {
		_, err := w.Write(b.ctx, msgs)
		done <- err
	}()
	return done
}

// waitForLockWaits waits until n of the database's sessions wait on a
// lock.
func (b *writerBundle) waitForLockWaits(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var waiting int
		require.NoError(t, b.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting))
		if waiting >= n {
			return
		}
		require.NoError(t, ctx.Err(), "waiting for %d sessions to wait on a lock; %d do", n, waiting)
	}
}

func (b *writerBundle) usersNamed(t *testing.T, externalID string) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id = $2`, externalID)
}

// TestAliasCommitsWhileBatchCreatesSameUser: an alias creates the user of
// its previous id X and merges it; a batch creating X meanwhile waits on
// the unique index and, once the alias commits, finds X claimed. The batch
// here is an identify without traits, which moves no rollup.
func TestAliasCommitsWhileBatchCreatesSameUser(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().Add(-time.Hour)
	b.write(t, track("A", "signup", "a0", at))
	hold := b.holdUser(t, "A")
	alias := b.writeAsync(aliasOf("X", "A", "al"))
	b.waitForLockWaits(t, 1) // the alias created X and waits to merge it into A
	identify := b.writeAsync(ingest.Message{Type: ingest.TypeIdentify, UserID: "X", AnonymousID: "Z", MessageID: "id", Timestamp: at})
	b.waitForLockWaits(t, 2) // the identify waits on the alias's X
	require.NoError(t, hold.Commit())
	require.NoError(t, <-alias)
	require.NoError(t, <-identify)

	require.Zero(t, b.usersNamed(t, "X"), "X is a name of A, not a user")
	b.write(t, track("X", "login", "x1", at), ingest.Message{Type: ingest.TypeTrack, AnonymousID: "Z", Event: "view", MessageID: "z1", Timestamp: at})
	require.Equal(t, 3, b.user(t, "A").EventCount, "X's and Z's events are A's")
}

// TestAliasWaitsForAnonymousLink: a batch links X as a visitor's anonymous
// id while an alias of X is written. The alias waits for that link and
// merges the visitor into its user too.
func TestAliasWaitsForAnonymousLink(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().Add(-time.Hour)
	b.write(t, track("A", "signup", "a0", at), track("B", "signup", "b0", at))
	hold := b.holdUser(t, "B")
	visit := b.writeAsync(ingest.Message{Type: ingest.TypeTrack, AnonymousID: "X", Event: "view", MessageID: "v1", Timestamp: at},
		track("B", "view", "b1", at))
	b.waitForLockWaits(t, 1) // the visit linked X and waits to roll up B
	alias := b.writeAsync(aliasOf("X", "A", "al"))
	b.waitForLockWaits(t, 2) // the alias waits on the visit's link of X
	require.NoError(t, hold.Commit())
	require.NoError(t, <-visit)
	require.NoError(t, <-alias)

	require.Equal(t, 2, b.user(t, "A").EventCount, "the visitor's event is A's")
	require.Zero(t, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id IS NULL`), "the visitor is merged away")
	b.write(t, track("X", "login", "x1", at))
	require.Equal(t, 3, b.user(t, "A").EventCount)
	require.Zero(t, b.usersNamed(t, "X"))
}

// TestIdentifyLinksIDsTheBatchCreated: a batch may link, as an anonymous
// id, an external id it created a user for itself; that is no concurrent
// alias, and the batch is stored.
func TestIdentifyLinksIDsTheBatchCreated(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().Add(-time.Hour)
	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "K", AnonymousID: "K", Traits: map[string]any{"plan": "pro"}, MessageID: "i1", Timestamp: at})
	require.JSONEq(t, `{"plan": "pro"}`, b.user(t, "K").Traits)
	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "L", AnonymousID: "Y", MessageID: "i2", Timestamp: at},
		track("Y", "login", "y1", at))
	require.Equal(t, 1, b.user(t, "Y").EventCount)
}

// TestMergedUsersKeepTheirNames: a known user merged away other than as an
// alias's previous id (through an anonymous id of theirs, or as the target
// of an earlier alias) stays a name of the user it was merged into.
func TestMergedUsersKeepTheirNames(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().Add(-time.Hour)
	b.write(t, track("A", "s", "a0", at), track("B", "s", "b0", at))
	b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: "A", AnonymousID: "z", MessageID: "i1", Timestamp: at})
	b.write(t, aliasOf("z", "B", "al1"))
	b.write(t, track("A", "s", "a1", at))
	require.Equal(t, 3, b.user(t, "B").EventCount)
	require.Zero(t, b.usersNamed(t, "A"))

	b.write(t, track("C", "s", "c0", at), track("D", "s", "d0", at))
	b.write(t, aliasOf("X", "C", "al2"))
	b.write(t, aliasOf("X", "D", "al3"))
	b.write(t, track("C", "s", "c1", at))
	require.Equal(t, 3, b.user(t, "D").EventCount)
	require.Zero(t, b.usersNamed(t, "C"))
}
