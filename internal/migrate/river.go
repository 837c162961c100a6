package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

// riverMigrator returns River's migrator for db. River's warnings go to
// logger; its step-by-step Info lines do not, as Up logs the versions itself
// in the same shape as Pulse's.
func riverMigrator(db *sql.DB, logger *slog.Logger) (*rivermigrate.Migrator[*sql.Tx], error) {
	quiet := slog.New(minLevel{Handler: logger.Handler(), level: slog.LevelWarn})
	migrator, err := rivermigrate.New(riverdatabasesql.New(db), &rivermigrate.Config{Logger: quiet})
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

// minLevel passes on the records of its Handler at level and above.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.level && h.Handler.Enabled(ctx, level)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), level: h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), level: h.level}
}
