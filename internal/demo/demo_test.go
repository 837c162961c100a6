package demo_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/demo"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/jobs"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

type bundle struct {
	db       *sql.DB
	client   *ent.Client
	enqueuer *recompute.Enqueuer
	cfg      demo.Config
}

// setup gives each test its own demo project (by name) and keys file.
func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	inserter, err := jobs.NewClient(db, jobs.Config{}) // inserts only: runs stay PENDING
	require.NoError(t, err)
	return &bundle{
		db: db, client: database.NewClient(db), enqueuer: recompute.NewEnqueuer(db, inserter.River),
		cfg: demo.Config{ProjectName: "demo " + t.Name(), Users: 60, Days: 45, KeysFile: filepath.Join(t.TempDir(), "demo-keys.json")},
	}
}

func (b *bundle) setup(t *testing.T) *demo.Demo {
	t.Helper()
	d, err := demo.Setup(context.Background(), b.db, b.client, ingest.NewWriter(b.db), b.enqueuer, b.cfg)
	require.NoError(t, err)
	return d
}

func (b *bundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.QueryRow(query, args...).Scan(&n))
	return n
}

func TestSetupIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.setup(t)
	require.True(t, first.Seeded)
	feedback := b.count(t, `SELECT count(*) FROM feedbacks WHERE project_id = $1`, first.ProjectID)
	require.Positive(t, feedback)
	require.Equal(t, len(segment.Templates), b.count(t, `SELECT count(*) FROM segments WHERE project_id = $1`, first.ProjectID))
	require.Equal(t, len(segment.Templates), b.count(t, `SELECT count(*) FROM segment_runs WHERE project_id = $1 AND status = 'PENDING'`, first.ProjectID),
		"every segment is queued for a recompute")

	second := b.setup(t)
	require.False(t, second.Seeded)
	require.Equal(t, first.ProjectID, second.ProjectID)
	require.Equal(t, first.Keys, second.Keys, "a restart prints the same keys")
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM projects WHERE name = $1`, b.cfg.ProjectName))
	require.Equal(t, feedback, b.count(t, `SELECT count(*) FROM feedbacks WHERE project_id = $1`, first.ProjectID), "not seeded twice")
	require.Equal(t, len(segment.Templates), b.count(t, `SELECT count(*) FROM segments WHERE project_id = $1`, first.ProjectID))

	info, err := os.Stat(b.cfg.KeysFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the keys file is the user's alone")

	keys := auth.NewKeys(b.client)
	for role, secret := range map[tenant.Role]string{tenant.RoleIngest: first.Keys.Ingest, tenant.RoleRead: first.Keys.Read, tenant.RoleAdmin: first.Keys.Admin} {
		scope, err := keys.Authenticate(context.Background(), secret)
		require.NoError(t, err)
		require.Equal(t, tenant.Scope{ProjectID: first.ProjectID, Role: role, KeyID: scope.KeyID, KeyPrefix: secret[:len(scope.KeyPrefix)]}, scope)
		require.NotEmpty(t, scope.KeyPrefix)
	}
}

func TestLostKeysFileRotatesTheKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.setup(t)
	require.NoError(t, os.Remove(b.cfg.KeysFile))

	second := b.setup(t)
	require.Equal(t, first.ProjectID, second.ProjectID)
	require.NotEqual(t, first.Keys.Admin, second.Keys.Admin)
	keys := auth.NewKeys(b.client)
	_, err := keys.Authenticate(context.Background(), first.Keys.Admin)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "the lost keys are revoked")
	scope, err := keys.Authenticate(context.Background(), second.Keys.Admin)
	require.NoError(t, err)
	require.Equal(t, tenant.RoleAdmin, scope.Role)

	third := b.setup(t)
	require.Equal(t, second.Keys, third.Keys, "the new keys are kept")
}

func TestTrickleAddsActivity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.setup(t)
	events := func() int {
		return b.count(t, `SELECT count(*) FROM events WHERE project_id = $1`, d.ProjectID)
	}
	feedback := func() int {
		return b.count(t, `SELECT count(*) FROM feedbacks WHERE project_id = $1`, d.ProjectID)
	}
	beforeEvents, beforeFeedback := events(), feedback()
	r := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		require.NoError(t, d.Trickle(context.Background(), r))
	}
	require.Greater(t, events(), beforeEvents)
	require.Greater(t, feedback(), beforeFeedback)
	require.Positive(t, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id LIKE 'live-%'`, d.ProjectID),
		"new users sign up")
}
