// Package project changes a project's settings: its name, time zone, real
// time and data retention. A change is validated, written, audited and,
// when it sets a retention, followed by the retention's job, in one
// transaction.
package project

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/retention"
)

// Settings are what an admin sets of a project, as its audit entries show
// it before and after a change.
type Settings struct {
	Name         string   `json:"name"`
	Timezone     string   `json:"timezone"`
	ActiveEvents []string `json:"activeEvents"`
	Realtime     bool     `json:"realtime"`
	// RetentionDays is nil when data is kept for ever.
	RetentionDays *int `json:"retentionDays"`
}

// Change is an update of a project's settings; nil fields stay as they
// are.
type Change struct {
	Name     *string
	Timezone *string
	Realtime *bool
	// Retention, when set, replaces the retention: Days nil keeps data for
	// ever.
	Retention *Retention
}

// Retention is a project's data retention.
type Retention struct {
	Days *int
}

// ErrNoJobs is returned for a change of the retention in a process that
// cannot queue jobs.
var ErrNoJobs = errors.New("the retention's jobs are not configured in this process")

// Updater changes projects' settings.
type Updater struct {
	db        *sql.DB
	retention *retention.Enqueuer
}

// NewUpdater returns an Updater over db; retention queues the job that
// applies a new retention (nil refuses retention changes with ErrNoJobs).
func NewUpdater(db *sql.DB, retention *retention.Enqueuer) *Updater {
	return &Updater{db: db, retention: retention}
}

// Update applies ch to project projectID in one transaction (see
// UpdateTx) and returns its settings before and after.
func (u *Updater) Update(ctx context.Context, projectID int, ch Change) (before, after Settings, err error) {
	tx, err := u.db.BeginTx(ctx, nil)
	if err != nil {
		return before, after, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if before, after, err = u.UpdateTx(ctx, tx, projectID, ch); err != nil {
		return before, after, err
	}
	if err := tx.Commit(); err != nil {
		return before, after, fmt.Errorf("commit project %d: %w", projectID, err)
	}
	return before, after, nil
}

// UpdateTx applies ch to project projectID in tx. It takes the project's
// row lock first, so it is ordered with segment definitions (which
// share-lock the row to check their rules against the retention) and
// with other changes. Bad input is an *invalid.Error naming the input
// field; a retention shorter than what a segment reads names the
// segments. A new retention queues the retention's job in tx; the audit
// entry is written in tx too.
func (u *Updater) UpdateTx(ctx context.Context, tx *sql.Tx, projectID int, ch Change) (before, after Settings, err error) {
	if err := checkChange(ch); err != nil {
		return before, after, err
	}
	if before, err = lockSettings(ctx, tx, projectID); err != nil {
		return before, after, err
	}
	after = before.with(ch)
	if ch.Timezone != nil && *ch.Timezone != before.Timezone {
		if err := checkServerTimezone(ctx, tx, *ch.Timezone); err != nil {
			return before, after, err
		}
	}
	retentionChanged := !sameDays(before.RetentionDays, after.RetentionDays)
	if retentionChanged && after.RetentionDays != nil {
		if u.retention == nil {
			return before, after, ErrNoJobs
		}
		if err := checkSegments(ctx, tx, projectID, *after.RetentionDays); err != nil {
			return before, after, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE projects SET name = $2, timezone = $3, realtime = $4, retention_days = $5, updated_at = now() WHERE id = $1`,
		projectID, after.Name, after.Timezone, after.Realtime, after.RetentionDays); err != nil {
		return before, after, fmt.Errorf("update project %d: %w", projectID, err)
	}
	if retentionChanged && after.RetentionDays != nil {
		if err := u.retention.EnqueueTx(ctx, tx, projectID); err != nil {
			return before, after, err
		}
	}
	if err := audit.Record(ctx, tx, projectID, before, after); err != nil {
		return before, after, err
	}
	return before, after, nil
}

// with is s changed by ch.
func (s Settings) with(ch Change) Settings {
	if ch.Name != nil {
		s.Name = trimmed(*ch.Name)
	}
	if ch.Timezone != nil {
		s.Timezone = *ch.Timezone
	}
	if ch.Realtime != nil {
		s.Realtime = *ch.Realtime
	}
	if ch.Retention != nil {
		s.RetentionDays = ch.Retention.Days
	}
	return s
}

func sameDays(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// lockSettings reads the project's settings and locks its row until tx
// ends. NO KEY UPDATE is the lock the UPDATE takes anyway: it waits for
// the share locks of segment definitions, not for the key-share locks
// of the rows that ingestion inserts for the project.
func lockSettings(ctx context.Context, tx *sql.Tx, projectID int) (Settings, error) {
	var (
		s            Settings
		activeEvents []byte
		days         sql.NullInt64
	)
	err := tx.QueryRowContext(ctx, `SELECT name, timezone, active_events, realtime, retention_days FROM projects WHERE id = $1 FOR NO KEY UPDATE`,
		projectID).Scan(&s.Name, &s.Timezone, &activeEvents, &s.Realtime, &days)
	if err != nil {
		return s, fmt.Errorf("lock project %d: %w", projectID, err)
	}
	if len(activeEvents) > 0 {
		if err := json.Unmarshal(activeEvents, &s.ActiveEvents); err != nil {
			return s, fmt.Errorf("project %d active events: %w", projectID, err)
		}
	}
	if days.Valid {
		n := int(days.Int64)
		s.RetentionDays = &n
	}
	return s, nil
}
