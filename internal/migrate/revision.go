package migrate

import (
	"context"
	"database/sql"
	"fmt"
)

// revisionsTable records the applied Pulse migrations, one row per file, with
// the hex SHA-256 of the file's content when it was applied.
const revisionsTable = "pulse_schema_revisions"

const createRevisionsTable = `CREATE TABLE IF NOT EXISTS ` + revisionsTable + ` (
	version text PRIMARY KEY,
	name text NOT NULL,
	hash text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

const insertRevision = `INSERT INTO ` + revisionsTable + ` (version, name, hash) VALUES ($1, $2, $3)`

// EditedError reports an applied migration whose file has changed since.
// Migrations are only ever added: an edit would leave databases that applied
// the old text silently different from new ones. Match it with errors.As.
type EditedError struct {
	// Version is the file name of the migration, e.g. 20261129005716_init.sql.
	Version string
	// AppliedHash and FileHash are the hex SHA-256 of the content that was
	// applied and of the file now embedded.
	AppliedHash string
	FileHash    string
}

func (e *EditedError) Error() string {
	return fmt.Sprintf("migration %s was edited after it was applied (applied hash %s != file hash %s): restore it and add a new migration instead",
		e.Version, short(e.AppliedHash), short(e.FileHash))
}

// appliedHashes returns the content hash of each applied migration by version.
func appliedHashes(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (map[string]string, error) {
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return applied, nil
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
