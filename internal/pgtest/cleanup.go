package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

// packagePrefix starts the name of every package database.
const packagePrefix = "pulse_t_"

// packageDatabaseName returns a fresh name for this process's database:
// pulse_t_<host>_<pid>_<random>. Host and pid let a later test process on
// the same machine tell whether its owner is still alive.
func packageDatabaseName() string {
	random := make([]byte, 4)
	_, _ = rand.Read(random)
	return fmt.Sprintf("%s%s_%d_%s", packagePrefix, hostTag(), os.Getpid(), hex.EncodeToString(random))
}

// hostTag is a short hash of the host name: process ids mean something only
// on the host (container) that issued them.
func hostTag() string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host))
	return hex.EncodeToString(sum[:2])
}

// reapAbandoned drops the databases of test processes of this host that died
// before Main could drop them. It is best effort. DROP DATABASE without FORCE
// keeps any database that still has sessions, should a pid be misread.
func reapAbandoned(ctx context.Context, admin *sql.DB) {
	if _, err := os.Stat("/proc/self"); err != nil {
		return // no procfs to ask about pids
	}
	abandoned, err := abandonedDatabases(ctx, admin)
	if err != nil {
		return // best effort: the next run reaps them
	}
	for _, name := range abandoned {
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name))
	}
}

// abandonedDatabases lists this host's package databases whose creating
// process has exited.
func abandonedDatabases(ctx context.Context, admin *sql.DB) ([]string, error) {
	rows, err := admin.QueryContext(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
		packagePrefix+hostTag()+"_")
	if err != nil {
		return nil, fmt.Errorf("list package databases: %w", err)
	}
	defer rows.Close()
	var abandoned []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list package databases: %w", err)
		}
		if ownerGone(name) {
			abandoned = append(abandoned, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list package databases: %w", err)
	}
	return abandoned, nil
}

// ownerGone reports whether the process that created the database name is
// known to have exited.
func ownerGone(name string) bool {
	parts := strings.SplitN(strings.TrimPrefix(name, packagePrefix), "_", 3) // host, pid, random[_suffix]
	if len(parts) != 3 {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid == os.Getpid() {
		return false
	}
	_, err = os.Stat("/proc/" + strconv.Itoa(pid))
	return errors.Is(err, fs.ErrNotExist)
}

// dropDatabase drops name, closing the sessions tests left open.
func dropDatabase(ctx context.Context, name string) error {
	admin, err := sql.Open("postgres", serverURL())
	if err != nil {
		return fmt.Errorf("open server: %w", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop test database %s: %w", name, err)
	}
	return nil
}
