// Package database opens Pulse's PostgreSQL connections.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"entgo.io/ent/dialect"
	// The database/sql driver of Pulse.
	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent"
	// Registers the schema's hooks and interceptors (tenant scoping).
	_ "github.com/pulse-analytics/pulse/ent/runtime"
)

// DefaultMaxConns bounds the main pool: ingestion (/v1/*, PostHog capture,
// the track, identify and ingestEvents mutations) and live updates.
const DefaultMaxConns = 20

// DefaultJobsMaxConns bounds the pool of River and the jobs it works
// (recomputes, passes, sweeps, webhook deliveries), so a burst of ingestion
// that takes every connection of the main pool never holds up the jobs that
// make its data count, nor they it. Four of them are for deliveries, which
// hold theirs while a receiver answers.
const DefaultJobsMaxConns = 14

// DefaultGraphQLMaxConns bounds the pool of the other GraphQL resolvers, so
// that heavy reads wait for each other, never for ingestion's connections.
const DefaultGraphQLMaxConns = 10

// Open connects to dsn with the main pool's size and checks the connection.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	return OpenPool(ctx, dsn, DefaultMaxConns)
}

// OpenPool connects to dsn with at most maxConns connections open at once
// and checks the connection. Callers waiting for a connection queue in
// database/sql until one is free or their context ends.
func OpenPool(ctx context.Context, dsn string, maxConns int) (*sql.DB, error) {
	return openPool(ctx, dsn, maxConns, false)
}

// OpenGraphQLPool is OpenPool for the pool of the GraphQL resolvers: each
// of its connections keeps the queries it runs prepared (see
// cachingConnector). Behind a pooler that does not keep prepared
// statements (PgBouncer before 1.21 in transaction mode), use OpenPool.
func OpenGraphQLPool(ctx context.Context, dsn string, maxConns int) (*sql.DB, error) {
	return openPool(ctx, dsn, maxConns, true)
}

func openPool(ctx context.Context, dsn string, maxConns int, prepared bool) (*sql.DB, error) {
	if maxConns < 1 {
		return nil, fmt.Errorf("open database %s: a pool needs at least one connection, not %d", Redact(dsn), maxConns)
	}
	connector, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", Redact(dsn), err)
	}
	var db *sql.DB
	if prepared {
		db = sql.OpenDB(cachingConnector{Connector: connector})
	} else {
		db = sql.OpenDB(connector)
	}
	db.SetMaxOpenConns(maxConns)
	// Every open connection may stay idle: with fewer idle than open, a
	// pool busy at its bound closes the connections it cannot keep as
	// requests finish and opens new ones (a PostgreSQL backend each) for
	// the next, hundreds a second under steady load. Idle connections
	// are closed after ConnMaxIdleTime instead.
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(dsn), err)
	}
	return db, nil
}

// NewClient returns the ent client over db.
func NewClient(db *sql.DB) *ent.Client {
	return ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, db)))
}

// Redact returns dsn with its password masked, for logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Application names of Pulse's pools, as pg_stat_activity shows their
// connections (and the benchmarks find them).
const (
	MainApplicationName    = "pulse"
	JobsApplicationName    = "pulse jobs"
	GraphQLApplicationName = "pulse graphql"
)

// WithApplicationName returns dsn with its connections named name in
// PostgreSQL (application_name), unless dsn names them already.
func WithApplicationName(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		if q.Has("application_name") {
			return dsn
		}
		q.Set("application_name", name)
		u.RawQuery = q.Encode()
		return u.String()
	}
	if strings.Contains(dsn, "application_name=") {
		return dsn
	}
	return strings.TrimSpace(dsn + " application_name='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name) + "'")
}
