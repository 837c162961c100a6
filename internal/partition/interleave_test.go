package partition_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/migrate"
	"github.com/pulse-analytics/pulse/internal/partition"
)

// TestCopyBatchInterleavedWithChanges holds a copy batch and a merge's
// update (or an erasure's delete) of one of its rows open in turn, each
// making the other wait: whichever commits first, the partitioned copy
// ends with the row as events has it (moved, or gone). Without the batch's
// FOR SHARE, a change made while the batch is open would not wait, its
// mirror would find no row, and the batch would then write the row as it
// was.
func TestCopyBatchInterleavedWithChanges(t *testing.T) {
	t.Parallel()
	in := olderInstallation(t, 10, 100)
	ctx := context.Background()
	require.NoError(t, migrate.Up(ctx, in.db, nil))
	var until int64
	require.NoError(t, in.db.QueryRow(`SELECT copy_until FROM events_partition_copy`).Scan(&until))
	var ids []int64
	rows, err := in.db.Query(`SELECT id FROM events ORDER BY id LIMIT 4`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	mover := in.users[9]

	copyRow := func(id int64) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.Exec(partition.CopyBatchSQL, id-1, until, 1, time.Now().Add(-partition.DedupWindow))
			return err
		}
	}
	move := func(id int64) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.Exec(`UPDATE events SET user_id = $2 WHERE id = $1`, id, mover)
			return err
		}
	}
	erase := func(id int64) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.Exec(`DELETE FROM events WHERE id = $1`, id)
			return err
		}
	}
	for _, c := range []struct {
		name          string
		first, second func(*sql.Tx) error
		id            int64
		gone          bool
	}{
		{"the batch, then a merge", copyRow(ids[0]), move(ids[0]), ids[0], false},
		{"a merge, then the batch", move(ids[1]), copyRow(ids[1]), ids[1], false},
		{"the batch, then an erasure", copyRow(ids[2]), erase(ids[2]), ids[2], true},
		{"an erasure, then the batch", erase(ids[3]), copyRow(ids[3]), ids[3], true},
	} {
		interleave(t, in, c.first, c.second)
		var user int64
		err := in.db.QueryRow(`SELECT user_id FROM events_partitioned WHERE id = $1`, c.id).Scan(&user)
		if c.gone {
			require.ErrorIs(t, err, sql.ErrNoRows, c.name)
			continue
		}
		require.NoError(t, err, c.name)
		require.Equal(t, mover, user, c.name)
	}
}

// interleave runs first in a transaction, then second in another, which
// must wait for first's: first commits once second waits on a lock, then
// second commits.
func interleave(t *testing.T, in *installation, first, second func(*sql.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx1, err := in.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx1.Rollback() }()
	require.NoError(t, first(tx1))

	conn, err := in.db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	var pid int
	require.NoError(t, conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	done := make(chan error, 1)
	go func() {
		tx2, err := conn.BeginTx(ctx, nil)
		if err == nil {
			if err = second(tx2); err == nil {
				err = tx2.Commit()
			} else {
				_ = tx2.Rollback()
			}
		}
		done <- err
	}()
	require.Eventually(t, func() bool {
		var waiting bool
		return in.db.QueryRow(`SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting) == nil && waiting
	}, 10*time.Second, 5*time.Millisecond, "the second waits for the first")
	require.NoError(t, tx1.Commit())
	require.NoError(t, <-done)
}
