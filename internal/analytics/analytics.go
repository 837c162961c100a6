// Package analytics answers what a product team asks of its active users:
// how engaged they are (engagement, the power-user curve, lifecycle), how
// well they are kept (retention), how segments relate and move (overlap,
// transitions), what a segment uses (feature usage) and what it says
// (feedback summary, feedback by segment).
//
// Each analytic is a few parameterised SQL statements run in one read-only
// snapshot, reading the rollups before raw events: user_daily_activities
// (one row per user and active day), users.first_seen_at, segment_members
// (current membership) and segment_memberships (membership history). Only
// feature usage reads events, because no rollup keeps event names.
//
// Calendar days, weeks (Monday to Sunday) and months are those of the
// project's time zone, as in the daily rollup. Analytics that take a
// segment restrict every count to the segment's current members.
package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Service runs the analytics of the caller's project (the context's tenant
// scope).
type Service struct {
	db     *sql.DB
	client *ent.Client
	now    func() time.Time
	// zones keeps each time zone loaded (name → *time.Location):
	// time.LoadLocation reads and parses the zone file on every call.
	zones sync.Map
}

// New returns a Service over db and its ent client.
func New(db *sql.DB, client *ent.Client) *Service {
	return &Service{db: db, client: client, now: time.Now}
}

// snapshot is what one analytic's statements share: a read-only
// transaction and the caller's project.
type snapshot struct {
	tx        *sql.Tx
	projectID int
	// timezone is the project's IANA time zone, for AT TIME ZONE in SQL;
	// location is the same zone for Go.
	timezone string
	location *time.Location
}

// read runs fn in one read-only REPEATABLE READ transaction, so the several
// statements of an analytic see the same data and their parts add up.
func (s *Service) read(ctx context.Context, fn func(*snapshot) error) error {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return tenant.ErrNoTenant
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	snap := &snapshot{tx: tx, projectID: scope.ProjectID}
	var workMem, jit string // as set
	err = tx.QueryRowContext(ctx, openSnapshot, scope.ProjectID).Scan(&snap.timezone, &workMem, &jit)
	if err != nil {
		return fmt.Errorf("load project %d: %w", scope.ProjectID, err)
	}
	if snap.location, err = s.zone(snap.timezone); err != nil {
		return fmt.Errorf("project %d time zone %q: %w", scope.ProjectID, snap.timezone, err)
	}
	if err := fn(snap); err != nil {
		return err
	}
	return tx.Commit()
}

// openSnapshot configures the snapshot's transaction and reads the
// project's time zone, in one round trip. The analytics aggregate per user
// and day: with the default work_mem those aggregates and sorts spill to
// disk on large projects. Their statements run well under a second, and
// their row estimates (rollups joined to rollups) are often high, which
// would make PostgreSQL spend longer compiling them with JIT than running
// them.
const openSnapshot = `SELECT timezone, set_config('work_mem', '64MB', true), set_config('jit', 'off', true)
	FROM projects WHERE id = $1`

// zone is the time zone name, loaded once.
func (s *Service) zone(name string) (*time.Location, error) {
	if loc, ok := s.zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	s.zones.Store(name, loc)
	return loc, nil
}

// today is the current calendar day in the project's time zone.
func (s *Service) today(snap *snapshot) time.Time {
	return civil(s.now().In(snap.location))
}

// midnight is the instant day starts in the project's time zone.
func (snap *snapshot) midnight(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, snap.location)
}

// span is the instants from the start of day from to the end of day to
// (the start of the next), in the project's time zone.
func (snap *snapshot) span(from, to time.Time) (start, end time.Time) {
	return snap.midnight(from), snap.midnight(to.AddDate(0, 0, 1))
}

// inSegment is a condition restricting the user id column col to the
// current members of the segment whose id is the bind parameter param, or
// nothing when the parameter is NULL. Both are constants of this package,
// never input.
func inSegment(col, param string) string {
	return "(" + param + "::bigint IS NULL OR " + col +
		" IN (SELECT m.user_id FROM segment_members m WHERE m.segment_id = " + param + "))"
}

// share is part over whole, 0 when whole is 0.
func share(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}
