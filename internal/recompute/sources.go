package recompute

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// SyncRealtimeSources stores, for every real-time dynamic segment whose
// stored sources are not those its rule reads (a segment made before real
// time existed has none, so ingestion never marked its users; a later
// version may read its rules' sources differently), the sources of its
// rule, and queues a full recompute of it in the same transaction: the
// changes made while ingestion did not mark its users are in that run, and
// its window sweeps start from now. The run is a DEFINITION_CHANGE, as
// what real time reads of the definition changed: it reconciles nothing,
// so the users it catches up on count as no drift. It returns how many segments it changed.
// Processes that start together may both run it: each segment is changed
// under its row lock, by the first to get there. projectID 0 is every
// project.
func (e *Enqueuer) SyncRealtimeSources(ctx context.Context, projectID int) (int, error) {
	stale, err := staleSources(ctx, e.db, projectID)
	if err != nil {
		return 0, err
	}
	synced := 0
	for _, s := range stale {
		changed, err := e.syncSources(ctx, s.project, s.segment)
		if errors.Is(err, ErrNoSegment) {
			continue // archived since
		}
		if err != nil {
			return synced, err
		}
		if changed {
			synced++
		}
	}
	return synced, nil
}

// staleSources finds the segments SyncRealtimeSources changes.
func staleSources(ctx context.Context, db *sql.DB, projectID int) ([]dueSegment, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT project_id, id, rule, realtime_sources FROM segments
		WHERE kind = 'DYNAMIC' AND realtime AND archived_at IS NULL AND rule IS NOT NULL AND ($1::bigint = 0 OR project_id = $1)
		ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("find real-time segments: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var stale []dueSegment
	for rows.Next() {
		var (
			s             dueSegment
			rule, sources []byte
		)
		if err := rows.Scan(&s.project, &s.segment, &rule, &sources); err != nil {
			return nil, fmt.Errorf("find real-time segments: %w", err)
		}
		if want, ok := sourcesOf(rule); ok && !sameSources(want, sources) {
			stale = append(stale, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find real-time segments: %w", err)
	}
	return stale, nil
}

// sourcesOf are the sources a stored rule reads; false for a rule that does
// not decode (a full recompute reports it).
func sourcesOf(rule []byte) ([]string, bool) {
	r, err := segment.Decode(rule)
	if err != nil {
		return nil, false
	}
	return segment.RealtimeSources(r, true), true
}

func sameSources(want []string, stored []byte) bool {
	if stored == nil {
		return want == nil
	}
	var have []string
	return json.Unmarshal(stored, &have) == nil && slices.Equal(want, have)
}

// syncSources stores the sources of one segment, read again under its row
// lock, and queues its recompute.
func (e *Enqueuer) syncSources(ctx context.Context, projectID, segmentID int) (bool, error) {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin sources of segment %d: %w", segmentID, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := e.EnqueueTx(ctx, tx, projectID, segmentID, segmentrun.TriggerDEFINITION_CHANGE); err != nil {
		return false, err
	}
	var rule, stored []byte
	var realtime bool
	err = tx.QueryRowContext(ctx, `SELECT rule, realtime_sources, realtime AND kind = 'DYNAMIC' FROM segments WHERE id = $1`,
		segmentID).Scan(&rule, &stored, &realtime)
	if err != nil {
		return false, fmt.Errorf("read sources of segment %d: %w", segmentID, err)
	}
	want, ok := sourcesOf(rule)
	if !realtime || !ok || sameSources(want, stored) {
		return false, nil // changed since it was found: whoever changed it set them
	}
	var sources any
	if want != nil {
		raw, err := json.Marshal(want)
		if err != nil {
			return false, fmt.Errorf("encode sources of segment %d: %w", segmentID, err)
		}
		sources = string(raw)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segments SET realtime_sources = $2::jsonb, swept_at = $3 WHERE id = $1`,
		segmentID, sources, time.Now()); err != nil {
		return false, fmt.Errorf("store sources of segment %d: %w", segmentID, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit sources of segment %d: %w", segmentID, err)
	}
	return true, nil
}

// RestartTx, in tx, restarts the real time of every active segment of the
// project, for a project whose real time is turned back on or whose time
// zone changed (which moves the days activity counts): the sweeps of their
// windows start from now, and each gets a recompute, which covers what
// changed meanwhile. A nil Enqueuer (a process that cannot queue jobs)
// restarts the sweeps only; the scheduled refresh recomputes them.
func (e *Enqueuer) RestartTx(ctx context.Context, tx *sql.Tx, projectID int) error {
	// Locked in id order, the order every request locks segments in.
	var ids pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM (
		SELECT id FROM segments WHERE project_id = $1 AND archived_at IS NULL ORDER BY id FOR NO KEY UPDATE) s`,
		projectID).Scan(&ids); err != nil {
		return fmt.Errorf("lock the segments of project %d: %w", projectID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segments SET swept_at = $2 WHERE id = ANY($1::bigint[])`, pq.Array(ids), time.Now()); err != nil {
		return fmt.Errorf("restart the sweeps of project %d: %w", projectID, err)
	}
	if e == nil {
		return nil
	}
	for _, id := range ids {
		if _, err := e.EnqueueTx(ctx, tx, projectID, int(id), segmentrun.TriggerDEFINITION_CHANGE); err != nil {
			return err
		}
	}
	return nil
}
