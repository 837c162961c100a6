package analytics_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/analytics"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// bundle is a Service over the package database, a project of the test's
// own with a READ context, and helpers to craft its data.
type bundle struct {
	db        *sql.DB
	client    *ent.Client
	service   *analytics.Service
	ctx       context.Context
	projectID int
}

// setup creates the test's project in time zone tz.
func setup(t *testing.T, tz string) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	b := &bundle{db: db, client: client, service: analytics.New(db, client)}
	b.projectID, b.ctx = newProject(t, client, t.Name(), tz)
	return b
}

// newProject creates a project in time zone tz and returns its id and a
// READ context for it.
func newProject(t *testing.T, client *ent.Client, name, tz string) (int, context.Context) {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), client, name)
	require.NoError(t, err)
	ctx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleRead})
	require.NoError(t, client.Project.UpdateOneID(created.Project.ID).SetTimezone(tz).Exec(tenant.ForProject(ctx, created.Project.ID)))
	return created.Project.ID, ctx
}

// other is a second project (UTC) sharing the database, for isolation.
func (b *bundle) other(t *testing.T) *bundle {
	t.Helper()
	o := &bundle{db: b.db, client: b.client, service: b.service}
	o.projectID, o.ctx = newProject(t, b.client, t.Name()+" other", "UTC")
	return o
}

// admin is a context that may write the bundle's project.
func (b *bundle) admin() context.Context { return tenant.ForProject(context.Background(), b.projectID) }

// user creates a user first seen at firstSeen (never seen when zero).
func (b *bundle) user(t *testing.T, externalID string, firstSeen time.Time) int {
	t.Helper()
	create := b.client.User.Create().SetExternalID(externalID)
	if !firstSeen.IsZero() {
		create.SetFirstSeenAt(firstSeen).SetLastSeenAt(firstSeen)
	}
	u, err := create.Save(b.admin())
	require.NoError(t, err)
	return u.ID
}

// active records the user as active on the days (YYYY-MM-DD, the
// project's calendar), as the ingest rollup does.
func (b *bundle) active(t *testing.T, userID int, days ...string) {
	t.Helper()
	for _, d := range days {
		_, err := b.db.Exec(`INSERT INTO user_daily_activities (project_id, user_id, day, events, mobile_events, tablet_events, desktop_events)
			VALUES ($1, $2, $3::date, 1, 0, 0, 1)`, b.projectID, userID, d)
		require.NoError(t, err)
	}
}

// segment creates a STATIC segment whose current members are members.
func (b *bundle) segment(t *testing.T, name string, members ...int) int {
	t.Helper()
	seg, err := b.client.Segment.Create().SetName(name).SetKind("STATIC").Save(b.admin())
	require.NoError(t, err)
	for _, m := range members {
		require.NoError(t, b.client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(m).Exec(b.admin()))
	}
	return seg.ID
}

// interval records that the user was in the segment from entered until
// exited (still in when exited is zero).
func (b *bundle) interval(t *testing.T, segmentID, userID int, entered, exited time.Time) {
	t.Helper()
	create := b.client.SegmentMembership.Create().SetSegmentID(segmentID).SetUserID(userID).SetEnteredAt(entered)
	if !exited.IsZero() {
		create.SetExitedAt(exited)
	}
	require.NoError(t, create.Exec(b.admin()))
}

// day parses a YYYY-MM-DD calendar day.
func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return d
}

// at parses an RFC 3339 instant.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return ts
}

// requireField asserts err is bad input naming field.
func requireField(t *testing.T, err error, field string) {
	t.Helper()
	var bad *invalid.Error
	require.ErrorAs(t, err, &bad, "want bad input on %s, got %v", field, err)
	require.Equal(t, field, bad.Field, "error: %v", err)
	require.NotErrorIs(t, err, invalid.ErrNotFound, "bad input, not NOT_FOUND: %v", err)
}

func ptr[T any](v T) *T { return &v }
