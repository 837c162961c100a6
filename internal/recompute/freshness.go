package recompute

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Freshness says how current a segment's members are.
type Freshness struct {
	// Realtime: the segment moves by incremental passes within seconds of
	// its data; otherwise only by scheduled full recomputes.
	Realtime bool
	// Reason says why a segment is not real time.
	Reason string
	// Lag is how long ago the oldest change not yet reflected in the
	// members committed (0 when up to date): a dirty mark, a window the
	// sweep is late for, or a definition waiting for its recompute. A segment that is not real
	// time does not track its changes: its lag is the time since its last
	// full recompute (all of it when it was never computed).
	Lag time.Duration
}

// sweepSlack is how far behind its period the sweep of passing windows may
// be before a segment reports it as lag.
const sweepSlack = 5 * time.Second

// FreshnessOf returns the freshness of the project's segments ids at now.
// One statement: the oldest mark of each segment is a probe of
// segmentdirtyuser_segment_id_user_id.
func FreshnessOf(ctx context.Context, db *sql.DB, projectID int, ids []int, now time.Time) (map[int]Freshness, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT s.id, s.kind, s.realtime, p.realtime, s.archived_at IS NOT NULL, s.realtime_sources IS NOT NULL,
			s.swept_at, s.last_computed_at, CASE WHEN s.status = 'PENDING' THEN s.updated_at END, (SELECT min(d.marked_at) FROM segment_dirty_users d WHERE d.segment_id = s.id)
		FROM segments s JOIN projects p ON p.id = s.project_id
		WHERE s.project_id = $1 AND s.id = ANY($2::bigint[])`, projectID, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("freshness of segments: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := make(map[int]Freshness, len(ids))
	for rows.Next() {
		var (
			id                                      int
			kind                                    string
			segmentRealtime, projectRealtime        bool
			archived, hasSources                    bool
			sweptAt, lastComputedAt, oldestMarkedAt sql.NullTime
			pendingSince                            sql.NullTime
		)
		if err := rows.Scan(&id, &kind, &segmentRealtime, &projectRealtime, &archived, &hasSources, &sweptAt, &lastComputedAt, &pendingSince, &oldestMarkedAt); err != nil {
			return nil, fmt.Errorf("freshness of segments: %w", err)
		}
		f := Freshness{Realtime: true}
		switch {
		case kind == "STATIC":
			f = Freshness{Reason: "a STATIC segment's members change only when they are edited"}
		case archived:
			f = Freshness{Reason: "the segment is archived: it is no longer computed"}
		case !projectRealtime:
			f = Freshness{Reason: "real time is off for the project (Project.realtime)"}
		case !segmentRealtime || !hasSources:
			f = Freshness{Reason: "real time is off for this segment (Segment.realtime)"}
		}
		switch {
		case !f.Realtime:
			// Changes are not tracked: the lag is the last recompute's age
			// (none for a STATIC segment, edited rather than computed).
			if kind != "STATIC" && lastComputedAt.Valid {
				f.Lag = now.Sub(lastComputedAt.Time)
			}
		default:
			if oldestMarkedAt.Valid {
				f.Lag = now.Sub(oldestMarkedAt.Time)
			}
			if sweptAt.Valid && now.Sub(sweptAt.Time) > sweepSlack {
				f.Lag = max(f.Lag, now.Sub(sweptAt.Time))
			}
			// A definition not yet computed is a change not yet reflected.
			if pendingSince.Valid {
				f.Lag = max(f.Lag, now.Sub(pendingSince.Time))
			}
		}
		f.Lag = max(f.Lag, 0)
		out[id] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("freshness of segments: %w", err)
	}
	return out, nil
}
