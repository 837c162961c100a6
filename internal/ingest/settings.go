package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/internal/privacy"
)

// settings are a project's rules for rollups, the ids it suppresses and
// how long it keeps events.
type settings struct {
	location *time.Location  // calendar days are counted here
	active   map[string]bool // nil: every usage event is activity
	// timezone and activeEvents are the project's columns as read, which
	// the rollup statement compares with the row it sees.
	timezone     string
	activeEvents []byte // JSON; nil when NULL
	// suppressionVersion moves with every change of the project's
	// suppressed ids, which suppressed holds as of that version; the
	// rollup statement compares it with the row like timezone.
	suppressionVersion int64
	suppressed         privacy.Suppressions
	// retentionDays is the project's retention (0: none), which the
	// rollup statement compares with the row like timezone: usage events
	// older than it are refused.
	retentionDays int
}

// retentionParam is retentionDays as a parameter: NULL for none.
func (s settings) retentionParam() any {
	if s.retentionDays == 0 {
		return nil
	}
	return s.retentionDays
}

func (s settings) isActive(name string) bool { return s.active == nil || s.active[name] }

// activeEventsParam is activeEvents as a jsonb parameter: text, or NULL
// unless the project has them (lib/pq sends []byte as bytea).
func (s settings) activeEventsParam() any {
	if s.activeEvents == nil {
		return nil
	}
	return string(s.activeEvents)
}

// errStaleSettings means a project's settings changed since the writer
// remembered them: the batch's rollups were computed with old ones, so it
// is written again.
var errStaleSettings = errors.New("the project's settings changed")

// settingsCache remembers each project's settings, so a batch does not
// read them in a round trip of its own. They cannot go stale unnoticed:
// the rollup statement compares them with the project's row, in the
// batch's transaction, and the batch is written again if they differ. A
// change therefore applies to every batch whose rollups are written after
// it commits, as when they were read first in each batch.
type settingsCache struct {
	mu        sync.Mutex
	byProject map[int]settings
}

func newSettingsCache() *settingsCache { return &settingsCache{byProject: map[int]settings{}} }

// get returns the project's settings, reading them in tx unless known.
func (c *settingsCache) get(ctx context.Context, tx dbtx, projectID int) (settings, error) {
	c.mu.Lock()
	s, ok := c.byProject[projectID]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := loadSettings(ctx, tx, projectID)
	if err != nil {
		return s, err
	}
	c.mu.Lock()
	c.byProject[projectID] = s
	c.mu.Unlock()
	return s, nil
}

// forget drops what the cache knows of a project.
func (c *settingsCache) forget(projectID int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byProject, projectID)
}

const selectSettings = `SELECT timezone, active_events, suppression_version, COALESCE(retention_days, 0) FROM projects WHERE id = $1`

func loadSettings(ctx context.Context, tx dbtx, projectID int) (settings, error) {
	var s settings
	err := tx.QueryRowContext(ctx, selectSettings, projectID).Scan(&s.timezone, &s.activeEvents, &s.suppressionVersion, &s.retentionDays)
	if err != nil {
		return s, fmt.Errorf("load project %d: %w", projectID, err)
	}
	// A project that never suppressed an id (version 0) has none to read.
	if s.suppressionVersion > 0 {
		if s.suppressed, err = privacy.LoadSuppressions(ctx, tx, projectID); err != nil {
			return s, err
		}
	}
	if s.location, err = time.LoadLocation(s.timezone); err != nil {
		return s, fmt.Errorf("project %d time zone %q: %w", projectID, s.timezone, err)
	}
	var names []string
	if len(bytes.TrimSpace(s.activeEvents)) > 0 {
		if err := json.Unmarshal(s.activeEvents, &names); err != nil {
			return s, fmt.Errorf("project %d active events: %w", projectID, err)
		}
	}
	if len(names) > 0 {
		s.active = make(map[string]bool, len(names))
		for _, n := range names {
			s.active[n] = true
		}
	}
	return s, nil
}
