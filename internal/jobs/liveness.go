package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// A working process holds a session advisory lock, keyed on its River
// client id, on a connection of its own for as long as it lives. River
// records that id in a job's attempted_by when the process takes the job,
// so a running job whose last taker's lock is free was taken by a process
// that is gone: PostgreSQL releases the lock when the session ends (a kill
// -9 closes the socket at once; a vanished host is noticed by the TCP
// keepalives set on that session). Any working process rescues such jobs:
// they are made available again (or discarded after their last attempt)
// and retried at once. A live process keeps its lock, so its jobs, however
// long, are never taken from it.

// lockNamespace prefixes the key of every liveness lock, so they cannot
// collide with Pulse's other advisory locks (small integers).
const lockNamespace = "pulse-river-client:"

// defaultRescueInterval is how often a process looks for the running jobs
// of dead processes. With the keepalives below, a job whose host vanished
// is retried within about 35 s, one whose process was killed within about
// 6 s.
const defaultRescueInterval = 5 * time.Second

// keepalives make PostgreSQL drop the liveness session of a host that
// stopped answering after about 25 s (10 s idle, then 3 probes 5 s apart);
// its lock is released then. These settings are per session.
const keepalives = `SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3`

// liveness is the lock of this process and the rescue of other processes'
// jobs: a service with Start and Stop.
type liveness struct {
	db       *sql.DB
	id       string
	interval time.Duration
	logger   *slog.Logger

	mu   sync.Mutex
	conn *sql.Conn // holds the lock; nil when lost, retaken at the next tick
	stop context.CancelFunc
	done chan struct{}
}

func newLiveness(db *sql.DB, id string, interval time.Duration, logger *slog.Logger) *liveness {
	if interval <= 0 {
		interval = defaultRescueInterval
	}
	return &liveness{db: db, id: id, interval: interval, logger: logger}
}

// newClientID returns a River client id unique to this process: host, pid
// and random bytes (a restarted process on the same host may get the same
// pid).
func newClientID() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		host = "host"
	}
	random := make([]byte, 6)
	if _, err := rand.Read(random); err != nil {
		return "", fmt.Errorf("client id: %w", err)
	}
	host = strings.NewReplacer(".", "_", " ", "_").Replace(host)
	if len(host) > 40 {
		host = host[:40]
	}
	return fmt.Sprintf("%s_%d_%s", host, os.Getpid(), hex.EncodeToString(random)), nil
}

// Start takes the lock, then rescues every interval until Stop.
func (l *liveness) Start(ctx context.Context) error {
	if err := l.lock(ctx); err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l.stop, l.done = stop, make(chan struct{})
	go l.run(runCtx)
	return nil
}

// Stop ends the rescues and releases the lock.
func (l *liveness) Stop() {
	if l.stop == nil {
		return
	}
	l.stop()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		// Closing the session releases the lock.
		_ = l.conn.Close()
		l.conn = nil
	}
}

func (l *liveness) run(ctx context.Context) {
	defer close(l.done)
	ticker := time.NewTicker(l.interval)
	defer ticker.Stop()
	for {
		// The first pass runs at start: a process started after a crash
		// rescues the dead one's jobs at once.
		l.keepLock(ctx)
		if n, err := rescue(ctx, l.db, l.id); err != nil && ctx.Err() == nil {
			l.logger.Error("rescue jobs of dead processes", "error", err)
		} else if n > 0 {
			l.logger.Warn("rescued the jobs of dead processes", "jobs", n)
		} else {
			l.logger.Debug("no job of a dead process")
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// lock opens the liveness session and takes its lock.
func (l *liveness) lock(ctx context.Context) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("liveness connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, keepalives); err != nil {
		_ = conn.Close()
		return fmt.Errorf("liveness keepalives: %w", err)
	}
	var locked bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, lockNamespace+l.id).Scan(&locked); err != nil {
		_ = conn.Close()
		return fmt.Errorf("liveness lock: %w", err)
	}
	if !locked {
		_ = conn.Close()
		return fmt.Errorf("liveness lock of client %s is held by another session", l.id)
	}
	l.mu.Lock()
	l.conn = conn
	l.mu.Unlock()
	return nil
}

// keepLock checks the liveness session and, if it was lost (PostgreSQL
// restarted, the network broke), takes the lock again. Jobs of this
// process rescued meanwhile by others are simply run again: a recompute of
// a committed run does nothing.
func (l *liveness) keepLock(ctx context.Context) {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn != nil {
		err := conn.PingContext(ctx)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		l.logger.Error("liveness session lost: the jobs of this process may be retried by others", "error", err)
		_ = conn.Close()
		l.mu.Lock()
		l.conn = nil
		l.mu.Unlock()
	}
	if err := l.lock(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		l.logger.Error("retake liveness lock", "error", err)
	}
}
