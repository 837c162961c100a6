package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/partition"
)

// Own returns a migrated database of the test's own, cloned from the
// template like the package's, and its URL; it is dropped when the test
// ends. It is for tests that change what every test of the package would
// see, such as events' partitions.
func Own(t testing.TB) (*sql.DB, string) {
	t.Helper()
	return ownDatabase(t, true)
}

// Empty returns an empty database of the test's own, and its URL, for a
// test that migrates it itself; it is dropped when the test ends.
func Empty(t testing.TB) (*sql.DB, string) {
	t.Helper()
	return ownDatabase(t, false)
}

func ownDatabase(t testing.TB, migrated bool) (*sql.DB, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := openServer(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	name := packageDatabaseName()
	if migrated {
		template, err := ensureTemplate(ctx, admin)
		if err == nil {
			err = cloneTemplate(ctx, admin, template, name)
		}
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	} else if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(context.Background(), name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	dsn := withDatabase(serverURL(), name)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", name, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(16)
	if migrated {
		if err := currentPartitions(ctx, db); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	return db, dsn
}

// currentPartitions gives a database cloned from the template the
// partitions of events for today and the months ahead: the template may
// have been built months ago.
func currentPartitions(ctx context.Context, db *sql.DB) error {
	if _, err := partition.EnsureAhead(ctx, db, time.Now()); err != nil {
		return fmt.Errorf("partitions of events: %w", err)
	}
	return nil
}
