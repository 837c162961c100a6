// Command gen writes a new versioned migration to the migration directory
// when ent/schema differs from what the existing migrations build, and writes
// nothing otherwise, so CI can run `go generate ./...` and then
// `git diff --exit-code`. It runs from migrations/generate.go.
//
// It replays the existing migrations on a scratch database, created on the
// server of PULSE_DEV_DATABASE_URL (default: local PostgreSQL) and dropped
// afterwards, inspects the result and has Atlas diff it with the ent schema.
// An empty diff is the "nothing to write" case. Otherwise the planned changes
// become one new file named <version>_<PULSE_MIGRATION_NAME>.sql (default
// name "change"), and atlas.sum is rewritten to cover it.
//
// PULSE_MIGRATION_REHASH=1 first rewrites atlas.sum to cover a hand-written
// migration (for what Atlas does not model, such as storage parameters).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	_ "ariga.io/atlas/sql/postgres" // Atlas's PostgreSQL driver for the diff
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/pulse-analytics/pulse/ent/migrate"
)

const defaultDevURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	dirPath := flag.String("dir", ".", "migration directory")
	flag.Parse()
	if err := run(context.Background(), *dirPath); err != nil {
		log.Fatalf("generate migration: %v", err)
	}
}

func run(ctx context.Context, dirPath string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	devURL := getenv("PULSE_DEV_DATABASE_URL", defaultDevURL)
	name := getenv("PULSE_MIGRATION_NAME", "change")

	local, err := atlasmigrate.NewLocalDir(dirPath)
	if err != nil {
		return fmt.Errorf("open migration directory %s: %w", dirPath, err)
	}
	if os.Getenv("PULSE_MIGRATION_REHASH") != "" {
		if err := rehash(local); err != nil {
			return err
		}
	}
	dir, err := newOrderedDir(local)
	if err != nil {
		return err
	}

	scratchURL, drop, err := scratchDatabase(ctx, devURL)
	if err != nil {
		return err
	}
	defer drop()

	err = migrate.NamedDiff(ctx, scratchURL, name,
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialect.Postgres),
		schema.WithFormatter(atlasmigrate.DefaultFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
		schema.WithDiffHook(withoutForeignKeys(tablesWithoutForeignKeys...), withPartitions(partitionedTables, handManagedTables)),
		// ent's sql/globalid feature needs no option here: the ID ranges are
		// IncrementStart annotations on ent/migrate's tables, which Atlas
		// turns into each identity column's START WITH.
		schema.WithErrNoPlan(true),
	)
	switch {
	case errors.Is(err, atlasmigrate.ErrNoPlan):
		return nil // the migrations already build the ent schema: write nothing
	case err != nil:
		return err
	}
	for _, f := range dir.written {
		fmt.Fprintf(os.Stderr, "wrote %s\n", f)
	}
	return nil
}

// rehash rewrites atlas.sum to cover the files as they are.
func rehash(dir *atlasmigrate.LocalDir) error {
	sum, err := dir.Checksum()
	if err != nil {
		return fmt.Errorf("hash migrations: %w", err)
	}
	if err := atlasmigrate.WriteSumFile(dir, sum); err != nil {
		return fmt.Errorf("write %s: %w", atlasmigrate.HashFileName, err)
	}
	return nil
}

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
