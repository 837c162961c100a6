// Command gen writes a new versioned migration to the current directory
// (migrations/) when ent/schema differs from what the existing migrations
// build, and writes nothing otherwise. Run through `go generate ./...`.
//
// It replays the existing migrations on a scratch database, created on the
// server of PULSE_DEV_DATABASE_URL and dropped afterwards, and diffs the
// result with the ent schema using Atlas. PULSE_MIGRATION_NAME names the new
// file (default "change"). PULSE_MIGRATION_REHASH=1 first rewrites atlas.sum
// to include a hand-written migration file.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log"
	"net/url"
	"os"
	"slices"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	_ "ariga.io/atlas/sql/postgres" // Atlas's PostgreSQL driver for the diff
	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	_ "github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent/migrate"
)

const defaultDevURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatalf("generate migration: %v", err)
	}
}

func run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	devURL := getenv("PULSE_DEV_DATABASE_URL", defaultDevURL)
	name := getenv("PULSE_MIGRATION_NAME", "change")

	scratchURL, drop, err := scratchDatabase(ctx, devURL)
	if err != nil {
		return err
	}
	defer drop()

	dir, err := atlasmigrate.NewLocalDir(".")
	if err != nil {
		return fmt.Errorf("open migration directory: %w", err)
	}
	// Hand-written migrations (what Atlas does not model, such as storage
	// parameters) are added with their checksum refreshed first.
	if os.Getenv("PULSE_MIGRATION_REHASH") != "" {
		sum, err := dir.Checksum()
		if err != nil {
			return fmt.Errorf("hash migrations: %w", err)
		}
		if err := atlasmigrate.WriteSumFile(dir, sum); err != nil {
			return fmt.Errorf("write atlas.sum: %w", err)
		}
	}
	return migrate.NamedDiff(ctx, scratchURL, name,
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialect.Postgres),
		schema.WithFormatter(atlasmigrate.DefaultFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
		schema.WithDiffHook(withoutForeignKeys(unreferencedTables...)),
	)
}

// unreferencedTables get no foreign keys. They take a row per event (or per
// user and day) on the ingest path, where each foreign-key check is an index
// probe plus a KEY SHARE lock on the user row that concurrent batches then
// contend on. The ingest transaction resolves every user before writing
// these rows and merges move them explicitly, so the keys would only cost.
var unreferencedTables = []string{"events", "user_daily_activities"}

// withoutForeignKeys removes the foreign keys of tables from the desired
// schema before Atlas diffs it.
func withoutForeignKeys(tables ...string) schema.DiffHook {
	return func(next schema.Differ) schema.Differ {
		return schema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
			for _, t := range desired.Tables {
				if slices.Contains(tables, t.Name) {
					t.ForeignKeys = nil
				}
			}
			return next.Diff(current, desired)
		})
	}
}

// scratchDatabase creates an empty database next to devURL's and returns its
// URL and a function that drops it.
func scratchDatabase(ctx context.Context, devURL string) (string, func(), error) {
	admin, err := sql.Open("postgres", devURL)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", devURL, err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "pulse_atlas_dev_" + hex.EncodeToString(suffix)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("create scratch database (is PostgreSQL up at %s?): %w", devURL, err)
	}
	u, err := url.Parse(devURL)
	if err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("parse %s: %w", devURL, err)
	}
	u.Path = "/" + name
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
	}
	return u.String(), drop, nil
}

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
