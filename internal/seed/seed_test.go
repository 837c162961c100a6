package seed_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/seed"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

type bundle struct {
	db     *sql.DB
	seeder *seed.Seeder
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.DB(t)
	return &bundle{db: db, seeder: seed.New(database.NewClient(db), ingest.NewWriter(db))}
}

// project creates a project and returns its id and an ADMIN context.
func (b *bundle) project(t *testing.T, name string) (int, context.Context) {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), database.NewClient(b.db), name)
	require.NoError(t, err)
	id := created.Project.ID
	return id, tenant.NewContext(context.Background(), tenant.Scope{ProjectID: id, Role: tenant.RoleAdmin})
}

func (b *bundle) run(t *testing.T, ctx context.Context, cfg seed.Config) *seed.Report {
	t.Helper()
	rep, err := b.seeder.Run(ctx, b.db, cfg)
	require.NoError(t, err)
	return rep
}

// fingerprint is the project's data, project and row ids left out, in a
// canonical order: two projects seeded alike have the same fingerprint.
func (b *bundle) fingerprint(t *testing.T, projectID int) []string {
	t.Helper()
	rows, err := b.db.Query(`
		SELECT 'event ' || u.external_id || ' ' || e.name || ' ' || e.platform || ' ' || e.timestamp::text || ' ' || e.properties::text
		FROM events e JOIN users u ON u.id = e.user_id WHERE e.project_id = $1
		UNION ALL
		SELECT 'user ' || external_id || ' ' || event_count || ' ' || first_seen_at::text || ' ' || last_seen_at::text || ' ' || traits::text
		FROM users WHERE project_id = $1 AND external_id IS NOT NULL
		UNION ALL
		SELECT 'feedback ' || u.external_id || ' ' || f.kind || ' ' || f.sentiment || ' ' || coalesce(f.nps_score, -1) || ' ' || f.text || ' ' || f.timestamp::text
		FROM feedbacks f JOIN users u ON u.id = f.user_id WHERE f.project_id = $1
		UNION ALL
		SELECT 'answer ' || u.external_id || ' ' || (SELECT jsonb_agg(a - 'questionId' ORDER BY n) FROM jsonb_array_elements(r.answers) WITH ORDINALITY AS x(a, n))::text
		FROM survey_responses r JOIN users u ON u.id = r.user_id WHERE r.project_id = $1
		ORDER BY 1`, projectID)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		out = append(out, line)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestSameSeedSameData(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now().Truncate(time.Second)
	cfg := seed.Config{Users: 40, Days: 45, Seed: 7, Now: now}
	first, ctxA := b.project(t, "seed A")
	second, ctxB := b.project(t, "seed B")
	other, ctxC := b.project(t, "seed C")
	repA := b.run(t, ctxA, cfg)
	repB := b.run(t, ctxB, cfg)
	cfg.Seed = 8
	b.run(t, ctxC, cfg)

	a := b.fingerprint(t, first)
	require.Greater(t, len(a), 500, "a realistic amount of data")
	require.Equal(t, a, b.fingerprint(t, second), "the same seed gives the same data")
	require.NotEqual(t, a, b.fingerprint(t, other), "another seed gives other data")
	require.Equal(t, repA.Messages, repB.Messages)
	require.Equal(t, repA.Feedback, repB.Feedback)
	require.Positive(t, repA.Feedback)
	require.Positive(t, repA.SurveyResponses)
}

func TestRerunStoresNoEventTwice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	projectID, ctx := b.project(t, "rerun")
	cfg := seed.Config{Users: 20, Days: 30, Seed: 3}
	first := b.run(t, ctx, cfg)
	count := func() (n int) {
		require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM events WHERE project_id = $1`, projectID).Scan(&n))
		return n
	}
	events := count()
	second := b.run(t, ctx, cfg)
	require.Equal(t, events, count())
	require.Positive(t, second.Duplicates)
	require.Equal(t, first.SurveyID, second.SurveyID, "the survey is reused")
}

// TestPersonasLandInTheirSegments computes the template segments over a
// seeded project and checks each persona's users are where a product team
// would expect them.
func TestPersonasLandInTheirSegments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	projectID, ctx := b.project(t, "personas")
	rep := b.run(t, ctx, seed.Config{Users: 200, Days: 60, Seed: 42})
	require.Len(t, rep.Personas[seed.PowerUser], 30)
	require.Len(t, rep.Personas[seed.Detractor], 30)

	members := func(key string) map[string]bool {
		tpl, ok := segment.TemplateByKey(key)
		require.True(t, ok, key)
		q, err := segment.Compile(tpl.Rule, segment.Env{ProjectID: projectID, Now: time.Now(), Location: time.UTC})
		require.NoError(t, err)
		rows, err := b.db.Query(`SELECT external_id FROM users WHERE project_id = $1 AND id IN (`+q.SQL+`)`, append([]any{projectID}, q.Args[1:]...)...)
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			out[id] = true
		}
		require.NoError(t, rows.Err())
		return out
	}
	all := func(segment map[string]bool, persona seed.Persona) {
		t.Helper()
		for _, id := range rep.Personas[persona] {
			require.True(t, segment[id], "%s (%s)", id, persona)
		}
	}
	none := func(segment map[string]bool, persona seed.Persona) {
		t.Helper()
		for _, id := range rep.Personas[persona] {
			require.False(t, segment[id], "%s (%s)", id, persona)
		}
	}
	engaged := members("HIGHLY_ENGAGED")
	all(engaged, seed.PowerUser)
	none(engaged, seed.Churner)
	require.Less(t, len(engaged), 2*len(rep.Personas[seed.PowerUser]), "mostly power users")

	mobile := members("MOBILE_USERS")
	all(mobile, seed.MobileCasual)
	none(mobile, seed.PowerUser)

	newUsers := members("NEW_USERS")
	all(newUsers, seed.Newcomer)
	require.Len(t, newUsers, len(rep.Personas[seed.Newcomer]), "only newcomers are new")

	dormant := members("DORMANT")
	all(dormant, seed.Churner)
	require.Len(t, dormant, len(rep.Personas[seed.Churner]), "only churners are dormant")

	detractors := members("DETRACTORS")
	all(detractors, seed.Detractor)
	none(detractors, seed.PowerUser)
	promoters := members("PROMOTERS")
	require.NotEmpty(t, promoters)
	none(promoters, seed.Detractor)
	none(promoters, seed.Churner)
	none(promoters, seed.MobileCasual) // they give 7-8: passives
	powerPromoters := 0
	for _, id := range rep.Personas[seed.PowerUser] {
		if promoters[id] {
			powerPromoters++
		}
	}
	require.Greater(t, powerPromoters, len(rep.Personas[seed.PowerUser])/2, "most power users are promoters")
	infrequent := members("INFREQUENT")
	require.NotEmpty(t, infrequent)
	none(infrequent, seed.PowerUser)
}

func TestBadConfig(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, ctx := b.project(t, "bad")
	_, err := b.seeder.Run(ctx, b.db, seed.Config{Users: 0, Days: 10})
	require.ErrorContains(t, err, "users: 0")
	_, err = b.seeder.Run(ctx, b.db, seed.Config{Users: 1, Days: 0})
	require.ErrorContains(t, err, "days: 0")
	_, err = b.seeder.Run(context.Background(), b.db, seed.Config{Users: 1, Days: 1})
	require.ErrorIs(t, err, tenant.ErrNoTenant)
}
