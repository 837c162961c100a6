// Package migrate applies Pulse's embedded SQL migrations and River's, under
// a PostgreSQL advisory lock so that processes starting together do not race.
package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strings"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/pulse-analytics/pulse/migrations"
)

// lockKey is the pg_advisory_lock key held while migrating: "pulse" in ASCII.
const lockKey int64 = 0x70756c7365

// revisionsTable records the applied Pulse migrations and their content hash.
const revisionsTable = "pulse_schema_revisions"

// EditedError reports an applied migration whose file has changed since.
// Migrations are only ever added: editing one would leave databases that
// applied the old text silently different from new ones.
type EditedError struct {
	Version     string
	AppliedHash string
	FileHash    string
}

func (e *EditedError) Error() string {
	return fmt.Sprintf("migration %s was edited after it was applied (applied sha256 %s, file sha256 %s): add a new migration instead",
		e.Version, short(e.AppliedHash), short(e.FileHash))
}

// Up applies every pending Pulse migration, each in its own transaction and
// in version order, then River's migrations. Re-running is a no-op.
func Up(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	return newMigrator(db, migrations.FS, logger).up(ctx)
}

// Pending returns how many Pulse and River migrations are not applied yet.
func Pending(ctx context.Context, db *sql.DB) (int, error) {
	return newMigrator(db, migrations.FS, nil).pending(ctx)
}

// migrator applies the migrations of one fs.FS; tests inject their own.
type migrator struct {
	db     *sql.DB
	files  fs.FS
	logger *slog.Logger
}

func newMigrator(db *sql.DB, files fs.FS, logger *slog.Logger) *migrator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &migrator{db: db, files: files, logger: logger}
}

// file is one migration: its version (the file name up to the first "_"),
// name and SQL.
type file struct {
	version string
	name    string
	sql     string
	hash    string
}

func (m *migrator) up(ctx context.Context) error {
	files, err := m.load()
	if err != nil {
		return err
	}
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect for migrations: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey)
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+revisionsTable+` (
		version text PRIMARY KEY,
		name text NOT NULL,
		hash text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create %s: %w", revisionsTable, err)
	}
	applied, err := appliedHashes(ctx, conn)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := m.apply(ctx, conn, f, applied); err != nil {
			return err
		}
	}
	return m.upRiver(ctx)
}

func (m *migrator) apply(ctx context.Context, conn *sql.Conn, f file, applied map[string]string) error {
	if hash, ok := applied[f.version]; ok {
		if hash != f.hash {
			return &EditedError{Version: f.name, AppliedHash: hash, FileHash: f.hash}
		}
		return nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration %s: %w", f.name, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, f.sql); err != nil {
		return fmt.Errorf("apply migration %s: %w", f.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+revisionsTable+` (version, name, hash) VALUES ($1, $2, $3)`,
		f.version, f.name, f.hash); err != nil {
		return fmt.Errorf("record migration %s: %w", f.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration %s: %w", f.name, err)
	}
	m.logger.InfoContext(ctx, "applied migration", "version", f.version, "name", f.name)
	return nil
}

func (m *migrator) upRiver(ctx context.Context) error {
	migrator, err := rivermigrate.New(riverdatabasesql.New(m.db), nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("apply river migrations: %w", err)
	}
	for _, v := range res.Versions {
		m.logger.InfoContext(ctx, "applied river migration", "version", v.Version, "name", v.Name)
	}
	return nil
}

func (m *migrator) pending(ctx context.Context) (int, error) {
	files, err := m.load()
	if err != nil {
		return 0, err
	}
	var exists bool
	if err := m.db.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, revisionsTable).Scan(&exists); err != nil {
		return 0, fmt.Errorf("look for %s: %w", revisionsTable, err)
	}
	applied := map[string]string{}
	if exists {
		if applied, err = appliedHashes(ctx, m.db); err != nil {
			return 0, err
		}
	}
	pending := 0
	for _, f := range files {
		if _, ok := applied[f.version]; !ok {
			pending++
		}
	}
	riverPending, err := m.pendingRiver(ctx)
	if err != nil {
		return 0, err
	}
	return pending + riverPending, nil
}

func (m *migrator) pendingRiver(ctx context.Context) (int, error) {
	migrator, err := rivermigrate.New(riverdatabasesql.New(m.db), nil)
	if err != nil {
		return 0, fmt.Errorf("river migrator: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{DryRun: true})
	if err != nil {
		return 0, fmt.Errorf("check river migrations: %w", err)
	}
	return len(res.Versions), nil
}

// load reads the migration files in version order and checks them against
// atlas.sum, so a file changed without regenerating the sum is refused.
func (m *migrator) load() ([]file, error) {
	mem := &atlasmigrate.MemDir{}
	entries, err := fs.ReadDir(m.files, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var files []file
	for _, e := range entries {
		if e.IsDir() || (path.Ext(e.Name()) != ".sql" && e.Name() != atlasmigrate.HashFileName) {
			continue
		}
		body, err := fs.ReadFile(m.files, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		if err := mem.WriteFile(e.Name(), body); err != nil {
			return nil, fmt.Errorf("stage migration %s: %w", e.Name(), err)
		}
		if e.Name() == atlasmigrate.HashFileName {
			continue
		}
		version, _, _ := strings.Cut(e.Name(), "_")
		sum := sha256.Sum256(body)
		files = append(files, file{version: version, name: e.Name(), sql: string(body), hash: hex.EncodeToString(sum[:])})
	}
	if err := atlasmigrate.Validate(mem); err != nil {
		if errors.Is(err, atlasmigrate.ErrChecksumMismatch) {
			return nil, fmt.Errorf("migrations do not match %s (a file was changed or added by hand; regenerate with go generate ./migrations): %w",
				atlasmigrate.HashFileName, err)
		}
		return nil, fmt.Errorf("validate migrations: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	return files, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func appliedHashes(ctx context.Context, q querier) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, hash FROM `+revisionsTable)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	applied := map[string]string{}
	for rows.Next() {
		var version, hash string
		if err := rows.Scan(&version, &hash); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		applied[version] = hash
	}
	return applied, rows.Err()
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
