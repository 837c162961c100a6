package discovery_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// behaviour is a planted group of users who all behave the same way: on
// each day offset (days before the reference instant) they send one event
// of each name, on the device, and they may have given an NPS score.
type behaviour struct {
	prefix     string
	users      int
	days       []int
	names      []string
	devices    []string // by position of the day; one entry means every day
	nps        *int
	npsDaysAgo int
}

// plantedGroups are three groups far apart in every measure:
//   - daily mobile promoters: active the last 7 days, 6 features, NPS 9;
//   - weekly desktop users: 3 days a week apart, 2 features, no NPS;
//   - lapsing detractors: last seen 20 days ago, half on mobile, NPS 3.
func plantedGroups() []behaviour {
	nine, three := 9, 3
	return []behaviour{
		{prefix: "daily", users: 40, days: []int{0, 1, 2, 3, 4, 5, 6},
			names: []string{"open", "search", "export", "share", "comment", "invite"}, devices: []string{"mobile"},
			nps: &nine, npsDaysAgo: 0},
		{prefix: "weekly", users: 30, days: []int{1, 8, 15}, names: []string{"open", "report"}, devices: []string{"desktop"}},
		{prefix: "lapsing", users: 20, days: []int{20, 24}, names: []string{"open", "settings"},
			devices: []string{"mobile", "desktop"}, nps: &three, npsDaysAgo: 20},
	}
}

// project is a project of the test's own.
type project struct {
	db     *sql.DB
	client *ent.Client
	id     int
	ctx    context.Context // INGEST scope, as SDKs write
}

func newProject(t *testing.T) *project {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	created, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	return &project{db: db, client: client, id: created.Project.ID,
		ctx: tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleIngest})}
}

// plant writes the groups through the real ingest path (events, daily
// rollups, last seen) with day offsets counted back from ref, plus users who
// must not be clustered: one active only before any 28-day window, one only
// identified. It returns the user ids of each group.
func (p *project) plant(t *testing.T, ref time.Time, groups []behaviour) [][]int {
	t.Helper()
	var msgs []ingest.Message
	add := func(userID, name, device string, at time.Time) {
		msgs = append(msgs, ingest.Message{Type: ingest.TypeTrack, UserID: userID, Event: name, Timestamp: at,
			Context: ingest.Context{DeviceType: device}, MessageID: fmt.Sprintf("%s-%s-%d", userID, name, at.UnixNano())})
	}
	for _, g := range groups {
		for u := range g.users {
			userID := fmt.Sprintf("%s-%d", g.prefix, u)
			for di, d := range g.days {
				device := g.devices[di%len(g.devices)]
				for ni, name := range g.names {
					add(userID, name, device, ref.Add(-time.Duration(d)*24*time.Hour-time.Duration(ni)*time.Second))
				}
			}
		}
	}
	add("long-gone", "open", "mobile", ref.Add(-40*24*time.Hour))
	msgs = append(msgs, ingest.Message{Type: ingest.TypeIdentify, UserID: "identified-only", Traits: map[string]any{"plan": "pro"},
		Timestamp: ref, MessageID: "identified-only"})
	res, err := ingest.NewWriter(p.db).Write(p.ctx, msgs)
	require.NoError(t, err)
	require.Empty(t, res.Rejected)

	store := feedback.NewStore(p.client)
	ids := make([][]int, len(groups))
	for gi, g := range groups {
		for u := range g.users {
			userID := fmt.Sprintf("%s-%d", g.prefix, u)
			if g.nps != nil {
				_, err := store.Submit(p.ctx, feedback.Submission{UserID: userID, NPSScore: g.nps,
					Timestamp: ref.Add(-time.Duration(g.npsDaysAgo)*24*time.Hour - time.Minute)})
				require.NoError(t, err)
			}
			id, err := p.client.User.Query().Where(user.ExternalID(userID)).OnlyID(p.ctx)
			require.NoError(t, err)
			ids[gi] = append(ids[gi], id)
		}
		slices.Sort(ids[gi])
	}
	return ids
}
