package live_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	_ "github.com/pulse-analytics/pulse/ent/runtime"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/recompute"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// waitFor bounds every wait of these tests: a delivery that never comes
// fails the test instead of hanging it.
const waitFor = 20 * time.Second

type bundle struct {
	db         *sql.DB
	client     *ent.Client
	hub        *live.Hub
	reconnects *atomic.Int64
	projectID  int
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupWith(t, live.Config{})
}

// setupWith starts a hub of its own (one LISTEN connection) and creates a
// project.
func setupWith(t *testing.T, cfg live.Config) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	reconnects := &atomic.Int64{}
	cfg.DSN = pgtest.DSN(t)
	cfg.OnReconnect = func() { reconnects.Add(1) }
	hub := live.NewHub(db, client, cfg)
	require.NoError(t, hub.Start(context.Background()))
	t.Cleanup(hub.Stop)
	b := &bundle{db: db, client: client, hub: hub, reconnects: reconnects}
	b.projectID = b.newProject(t, t.Name())
	return b
}

func (b *bundle) newProject(t *testing.T, name string) int {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), b.client, name)
	require.NoError(t, err)
	return created.Project.ID
}

// staticSegment creates a STATIC segment of the project and users u0..u(n-1).
func (b *bundle) staticSegment(t *testing.T, projectID, users int) int {
	t.Helper()
	var id int
	require.NoError(t, b.db.QueryRow(`
		INSERT INTO segments (project_id, name, kind, created_at, updated_at) VALUES ($1, 'static', 'STATIC', now(), now())
		RETURNING id`, projectID).Scan(&id))
	_, err := b.db.Exec(`
		INSERT INTO users (project_id, external_id, created_at, updated_at)
		SELECT $1, 'u' || g, now(), now() FROM generate_series(0, $2 - 1) g
		ON CONFLICT DO NOTHING`, projectID, users)
	require.NoError(t, err)
	return id
}

// change commits one run of a static segment: external ids enter (or leave).
func (b *bundle) change(t *testing.T, projectID, segmentID int, remove bool, externalIDs ...string) int {
	t.Helper()
	runID, err := recompute.ChangeStatic(context.Background(), b.db, projectID, segmentID, externalIDs, remove)
	require.NoError(t, err)
	return runID
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%d", i)
	}
	return out
}

// segmentStream subscribes a stream of the hub's buffer to a segment of
// the bundle's project.
func (b *bundle) segmentStream(t *testing.T, segmentID int, afterSeq *int) (*live.Stream[*live.Change], *live.Subscription) {
	t.Helper()
	stream := live.NewStream[*live.Change](b.hub.Buffer())
	sub, err := b.hub.SubscribeSegment(context.Background(), b.projectID, segmentID, afterSeq, stream)
	require.NoError(t, err)
	t.Cleanup(sub.Close)
	return stream, sub
}

// next reads one change from a stream, failing on timeout or end.
func next[T any](t *testing.T, s *live.Stream[T]) T {
	t.Helper()
	select {
	case v, ok := <-s.C:
		require.True(t, ok, "stream ended: %v", s.Err())
		return v
	case <-time.After(waitFor):
		t.Fatalf("no delivery within %s", waitFor)
	}
	var zero T
	return zero
}

func externalIDs(users []*ent.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = *u.ExternalID
	}
	return out
}

// hubChange is change for goroutines, which must not call require.
func (b *bundle) hubChange(segmentID int, externalIDs ...string) (int, error) {
	return recompute.ChangeStatic(context.Background(), b.db, b.projectID, segmentID, externalIDs, false)
}
