package privacy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// ErrSuppressed is returned by ingestion paths that store one message (a
// feedback, a survey response) when its user's ids are suppressed: the
// message is dropped, and the caller reports it as suppressed.
var ErrSuppressed = errors.New("the user's ids are suppressed")

// Querier runs a query in a transaction or on a pool: *sql.Tx, *sql.DB
// and *ent.Tx all are.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Suppressions are a project's suppressed ids as ingestion checks them: in
// memory, one SHA-256 per id looked up. The zero value suppresses nothing
// and costs nothing to check.
type Suppressions struct {
	salt   []byte
	hashes map[[sha256.Size]byte]struct{}
}

// LoadSuppressions reads the suppressed ids of a project
// (suppressedid_project_id_id_hash).
func LoadSuppressions(ctx context.Context, q Querier, projectID int) (Suppressions, error) {
	var s Suppressions
	rows, err := q.QueryContext(ctx, `SELECT p.privacy_salt, s.id_hash FROM projects p JOIN suppressed_ids s ON s.project_id = p.id WHERE p.id = $1`, projectID)
	if err != nil {
		return s, fmt.Errorf("load the suppressed ids of project %d: %w", projectID, err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var hash []byte
		if err := rows.Scan(&s.salt, &hash); err != nil {
			return s, fmt.Errorf("load the suppressed ids of project %d: %w", projectID, err)
		}
		if s.hashes == nil {
			s.hashes = map[[sha256.Size]byte]struct{}{}
		}
		s.hashes[[sha256.Size]byte(hash)] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("load the suppressed ids of project %d: %w", projectID, err)
	}
	return s, nil
}

// Empty reports whether nothing is suppressed.
func (s Suppressions) Empty() bool { return len(s.hashes) == 0 }

// Has reports whether id is suppressed; "" never is.
func (s Suppressions) Has(id string) bool {
	if id == "" || len(s.hashes) == 0 {
		return false
	}
	_, ok := s.hashes[Hash(s.salt, id)]
	return ok
}

// CheckSuppressed returns ErrSuppressed when any of ids is suppressed in
// the project of ctx, reading the database in tx (one probe of
// suppressedid_project_id_id_hash per id). Run it after the statements
// that find or create the user: one that had to wait for an erasure of the
// user sees, as this does, what the erasure committed.
func CheckSuppressed(ctx context.Context, tx Querier, ids ...string) error {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return fmt.Errorf("check suppressed ids: %w", tenant.ErrNoTenant)
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT 1 FROM projects p, unnest($2::text[]) AS x(id), suppressed_ids s
		WHERE p.id = $1 AND s.project_id = p.id AND s.id_hash = sha256(p.privacy_salt || convert_to(x.id, 'UTF8'))
		LIMIT 1`, scope.ProjectID, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("check suppressed ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	suppressed := rows.Next()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check suppressed ids: %w", err)
	}
	if suppressed {
		return ErrSuppressed
	}
	return nil
}

// Unsuppress lets id (an external id, or an anonymous id) in again: every
// erasure that suppressed it stops suppressing, and all of their ids are
// let in. It returns those erasures; an id that is not suppressed is
// NOT_FOUND.
func (e *Eraser) Unsuppress(ctx context.Context, id, field string) ([]Erasure, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("unsuppress: %w", tenant.ErrNoTenant)
	}
	if !scope.Role.Allows(tenant.RoleAdmin) {
		return nil, ErrNotAdmin
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin unsuppress: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	lifted, err := unsuppress(ctx, tx, scope.ProjectID, id)
	if err != nil {
		return nil, err
	}
	if len(lifted) == 0 {
		return nil, &invalid.Error{Field: field, Message: "this id is not suppressed", Err: invalid.ErrNotFound}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit unsuppress: %w", err)
	}
	return lifted, nil
}

// unsuppress lifts the suppressions of id in tx, under the project's row,
// whose suppression version it moves.
func unsuppress(ctx context.Context, tx *sql.Tx, projectID int, id string) ([]Erasure, error) {
	var salt []byte
	err := tx.QueryRowContext(ctx, `UPDATE projects SET suppression_version = suppression_version + 1 WHERE id = $1 RETURNING privacy_salt`,
		projectID).Scan(&salt)
	if err != nil {
		return nil, fmt.Errorf("lock project %d: %w", projectID, err)
	}
	if salt == nil {
		return nil, nil // the project never erased anyone
	}
	hash := Hash(salt, id)
	rows, err := tx.QueryContext(ctx, `
		WITH lifted AS (
			SELECT e.id FROM user_erasures e WHERE e.project_id = $1 AND e.suppressed
				AND (e.external_id_hash = $2 OR e.id IN (SELECT erasure_id FROM suppressed_ids WHERE project_id = $1 AND id_hash = $2))
		), freed AS (
			DELETE FROM suppressed_ids WHERE project_id = $1 AND (erasure_id IN (SELECT id FROM lifted) OR id_hash = $2)
		)
		UPDATE user_erasures SET suppressed = false WHERE id IN (SELECT id FROM lifted)
		RETURNING id, erased_at`, projectID, hash[:])
	if err != nil {
		return nil, fmt.Errorf("unsuppress: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var lifted []Erasure
	for rows.Next() {
		var e Erasure
		if err := rows.Scan(&e.ID, &e.ErasedAt); err != nil {
			return nil, fmt.Errorf("unsuppress: %w", err)
		}
		lifted = append(lifted, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unsuppress: %w", err)
	}
	_ = rows.Close()
	for _, e := range lifted {
		if err := audit.Record(ctx, tx, e.ID, map[string]any{"suppressed": true}, map[string]any{"suppressed": false}); err != nil {
			return nil, err
		}
	}
	return lifted, nil
}
