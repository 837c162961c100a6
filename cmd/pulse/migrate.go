package main

import (
	"context"
	"io"
)

func migrateCmd(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("migrate", "pulse migrate [--database-url URL]",
		`Creates the database when it is missing and applies Pulse's and River's
migrations, under a lock so concurrent runs are safe. Re-running is a no-op.
A migration that was edited after it was applied is refused.`, stderr)
	cfg.registerDatabase(fs)
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	logger, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		return err
	}
	logger.Info("database is up to date")
	return db.Close()
}
