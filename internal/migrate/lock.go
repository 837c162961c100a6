package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// lockKey is the pg_advisory_lock key every Pulse process holds while it
// migrates: the ASCII bytes of "pulse". Advisory locks are scoped to the
// current database, so migrating two databases on one server does not wait.
const lockKey int64 = 0x70756c7365

// withLock runs fn while holding the migration lock. The lock is taken at
// session level on a dedicated connection, so it spans the per-file
// transactions and River's migrations, which run on other connections.
func withLock(ctx context.Context, db *sql.DB, fn func(conn *sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect for migrations: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return fmt.Errorf("take migration lock %d: %w", lockKey, err)
	}
	defer func() {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)
		if err != nil {
			// A session lock lives as long as its connection: discard this
			// one rather than return it to the pool still holding the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return fn(conn)
}
