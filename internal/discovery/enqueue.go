package discovery

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Bounds and defaults of a discovery request.
const (
	MaxWindowDays = 365
	MaxRequestedK = 20
	DefaultWindow = 28
	DefaultSeed   = 1
)

// Request is what an admin asks a discovery for.
type Request struct {
	// K is the number of clusters; nil chooses it by silhouette.
	K          *int
	WithinDays int
	Seed       int64
}

// Enqueuer creates PENDING discovery runs and their River jobs.
type Enqueuer struct {
	db    *sql.DB
	river *river.Client[*sql.Tx]
}

// NewEnqueuer returns an Enqueuer; the River client only needs to insert.
func NewEnqueuer(db *sql.DB, client *river.Client[*sql.Tx]) *Enqueuer {
	return &Enqueuer{db: db, river: client}
}

// Enqueue validates req, then creates the run, its job and the request's
// audit entry in one transaction, and returns the run id.
func (e *Enqueuer) Enqueue(ctx context.Context, projectID int, req Request) (int, error) {
	if req.WithinDays < 1 || req.WithinDays > MaxWindowDays {
		return 0, invalid.Field("withinDays", "must be between 1 and %d days, got %d", MaxWindowDays, req.WithinDays)
	}
	if req.K != nil && (*req.K < MinK || *req.K > MaxRequestedK) {
		return 0, invalid.Field("k", "must be between %d and %d, got %d (omit it to choose by silhouette)", MinK, MaxRequestedK, *req.K)
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin discovery: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var runID int
	err = tx.QueryRowContext(ctx, `
		INSERT INTO discovery_runs (project_id, created_at, updated_at, status, requested_k, within_days, seed)
		VALUES ($1, now(), now(), 'PENDING', $2, $3, $4) RETURNING id`,
		projectID, req.K, req.WithinDays, req.Seed).Scan(&runID)
	if err != nil {
		return 0, fmt.Errorf("create discovery run: %w", err)
	}
	res, err := e.river.InsertTx(ctx, tx, Args{RunID: runID, ProjectID: projectID}, nil)
	if err != nil {
		return 0, fmt.Errorf("insert discovery job: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE discovery_runs SET job_id = $1 WHERE id = $2`, res.Job.ID, runID); err != nil {
		return 0, fmt.Errorf("record job of discovery run %d: %w", runID, err)
	}
	requested := map[string]any{"k": req.K, "withinDays": req.WithinDays, "seed": req.Seed}
	if err := audit.Record(ctx, tx, runID, nil, requested); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit discovery: %w", err)
	}
	return runID, nil
}
