package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/pulse-analytics/pulse/internal/warnlog"
)

// riverMigrator returns River's migrator for db. River's warnings go to
// logger; its step-by-step Info lines do not, as Up logs the versions itself
// in the same shape as Pulse's.
func riverMigrator(db *sql.DB, logger *slog.Logger) (*rivermigrate.Migrator[*sql.Tx], error) {
	migrator, err := rivermigrate.New(riverdatabasesql.New(db), &rivermigrate.Config{Logger: warnlog.New(logger)})
	if err != nil {
		return nil, fmt.Errorf("create river migrator: %w", err)
	}
	return migrator, nil
}

// upRiver applies River's pending migrations. River runs each in its own
// transaction; the caller holds the migration lock.
func (m *migrator) upRiver(ctx context.Context) error {
	migrator, err := riverMigrator(m.db, m.logger)
	if err != nil {
		return err
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("apply river migrations: %w", err)
	}
	for _, v := range res.Versions {
		m.logger.InfoContext(ctx, "applied river migration", "version", v.Version, "name", v.Name,
			"duration", v.Duration)
	}
	return nil
}

// pendingRiver counts River's migrations not applied to the database. A dry
// run lists them without executing any SQL.
func (m *migrator) pendingRiver(ctx context.Context) (int, error) {
	migrator, err := riverMigrator(m.db, slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{DryRun: true})
	if err != nil {
		return 0, fmt.Errorf("list pending river migrations: %w", err)
	}
	return len(res.Versions), nil
}
