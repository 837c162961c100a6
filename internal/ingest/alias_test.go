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
// next batch starts only once PostgreSQL shows the first waiting behind it.

func aliasOf(previous, user, messageID string) ingest.Message {
	return ingest.Message{Type: ingest.TypeAlias, UserID: user, PreviousID: previous, MessageID: messageID}
}

// rowHold is a test transaction holding rows that batches wait for.
type rowHold struct {
	*sql.Tx
	pid int // its backend's
}

// holdUser locks a user's row FOR SHARE until the returned transaction
// ends: batches that lock it for an update or a merge wait.
func (b *writerBundle) holdUser(t *testing.T, externalID string) *rowHold {
	t.Helper()
	tx, err := b.db.Begin()
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	h := &rowHold{Tx: tx}
	require.NoError(t, tx.QueryRow(`SELECT pg_backend_pid()`).Scan(&h.pid))
	_, err = tx.Exec(`SELECT 1 FROM users WHERE id = $1 FOR SHARE`, b.user(t, externalID).ID)
	require.NoError(t, err)
	return h
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

// waitBehind waits until n sessions wait on a lock that h holds, directly
// or behind one another. Other tests share the database, so only the waits
// h causes count.
func (b *writerBundle) waitBehind(t *testing.T, h *rowHold, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var waiting int
		require.NoError(t, b.db.QueryRowContext(ctx, `
			WITH RECURSIVE behind(pid) AS (
				SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))
				UNION
				SELECT a.pid FROM pg_stat_activity a JOIN behind ON behind.pid = ANY(pg_blocking_pids(a.pid))
			) SELECT count(*) FROM behind`, h.pid).Scan(&waiting))
		if waiting >= n {
			return
		}
		require.NoError(t, ctx.Err(), "waiting for %d sessions to wait behind the test's locks; %d do", n, waiting)
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
	b.waitBehind(t, hold, 1) // the alias created X and waits to merge it into A
	identify := b.writeAsync(ingest.Message{Type: ingest.TypeIdentify, UserID: "X", AnonymousID: "Z", MessageID: "id", Timestamp: at})
	b.waitBehind(t, hold, 2) // the identify waits on the alias's X
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
	b.waitBehind(t, hold, 1) // the visit linked X and waits to roll up B
	alias := b.writeAsync(aliasOf("X", "A", "al"))
	b.waitBehind(t, hold, 2) // the alias waits on the visit's link of X
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

// TestAliasOfAnIDUsedBothWays: an id seen as a visitor's anonymous id and
// as a userId names two users; an alias of it merges both.
func TestAliasOfAnIDUsedBothWays(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	at := time.Now().Add(-time.Hour)
	b.write(t, track("A", "signup", "a0", at))
	b.write(t, ingest.Message{Type: ingest.TypeTrack, AnonymousID: "v", Event: "view", MessageID: "v1", Timestamp: at})
	b.write(t, track("v", "login", "v2", at))
	b.write(t, aliasOf("v", "A", "al"))
	require.Equal(t, 3, b.user(t, "A").EventCount)
	b.write(t, track("v", "login", "v3", at))
	require.Equal(t, 4, b.user(t, "A").EventCount)
	require.Zero(t, b.usersNamed(t, "v"))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1`))
}
