package migrate

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// EnsureDatabase creates the database named in dsn when it does not exist.
// dsn may be a URL or a key=value string; it is read the way lib/pq reads it,
// environment (PGDATABASE, ...) included. To create the database it connects
// to the same server's "postgres" database, so the user needs CREATEDB only
// when the database is missing. Another process creating the same database at
// the same moment is not an error.
func EnsureDatabase(ctx context.Context, dsn string) error {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse database URL: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return nil // PostgreSQL picks the user's database; there is nothing to name
	}
	exists, err := canConnect(ctx, cfg)
	if err != nil || exists {
		return err
	}
	admin := cfg.Clone()
	admin.Database = "postgres"
	connector, err := pq.NewConnectorConfig(admin)
	if err != nil {
		return fmt.Errorf("configure connection to database postgres: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
	// A concurrent creator surfaces as duplicate_database, or, when both pass
	// PostgreSQL's own existence check together, as a unique violation on
	// pg_database's name index.
	if err != nil && pq.As(err, pqerror.DuplicateDatabase, pqerror.UniqueViolation) == nil {
		return fmt.Errorf("create database %s: %w", pq.QuoteIdentifier(name), err)
	}
	return nil
}

// canConnect reports whether cfg's database exists by connecting to it, which
// needs no access to any other database.
func canConnect(ctx context.Context, cfg pq.Config) (bool, error) {
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return false, fmt.Errorf("configure connection to database %s: %w", pq.QuoteIdentifier(cfg.Database), err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	err = db.PingContext(ctx)
	switch {
	case err == nil:
		return true, nil
	case pq.As(err, pqerror.InvalidCatalogName) != nil:
		return false, nil
	default:
		return false, fmt.Errorf("connect to database %s (is PostgreSQL running?): %w", pq.QuoteIdentifier(cfg.Database), err)
	}
}
