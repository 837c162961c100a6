package discovery_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// fixedNow is an instant 40 days back at 18:00 UTC: everything planted is
// in its past, and each event lands at noon (minus seconds) of its day, so
// calendar days and recencies are exact.
func fixedNow() time.Time {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	return today.Add(-40*24*time.Hour + 18*time.Hour)
}

func TestDiscoverFindsPlantedGroups(t *testing.T) {
	t.Parallel()
	p := newProject(t)
	now := fixedNow()
	groups := p.plant(t, now.Add(-6*time.Hour), plantedGroups())

	res, err := discovery.Discover(p.ctx, p.db, discovery.Params{ProjectID: p.id, WithinDays: 28, K: 3, Seed: 7, Now: now})
	require.NoError(t, err)
	require.Equal(t, 3, res.K)
	require.Equal(t, 90, res.Users, "only users with usage events in the window are clustered")
	require.Nil(t, res.KScores, "k was given")
	require.Greater(t, res.Silhouette, 0.5)

	// Largest first: each cluster is exactly one planted group.
	for i, members := range res.Members {
		got := slices.Clone(members)
		slices.Sort(got)
		require.Equal(t, groups[i], got, "cluster %d", i)
	}
	want := []struct {
		size        int
		description string
	}{
		{40, "active 7 of 28 days, last seen under a day ago, 42 events, 6 distinct events, 100% mobile, NPS 9"},
		{30, "active 3 of 28 days, last seen 1 day ago, 6 events, 2 distinct events, 0% mobile"},
		{20, "active 2 of 28 days, last seen 20 days ago, 4 events, 2 distinct events, 50% mobile, NPS 3"},
	}
	for i, c := range res.Clusters {
		t.Logf("cluster %d: %s; rule %s; precision %.2f recall %.2f", i, c.Description, c.SuggestedRuleText, c.Precision, c.Recall)
		require.Equal(t, i, c.Index)
		require.Equal(t, want[i].size, c.Size)
		require.InDelta(t, float64(want[i].size)/90, c.Share, 1e-9)
		require.Equal(t, want[i].description, c.Description)
		// The groups are separable by the measures rules can express: the
		// suggested rule selects exactly the cluster.
		require.Equal(t, 1.0, c.Precision)
		require.Equal(t, 1.0, c.Recall)
		require.Equal(t, c.Size, c.SuggestedSize)
		rule, err := segment.Decode(c.SuggestedRule)
		require.NoError(t, err)
		require.NoError(t, segment.Validate(rule))
		require.Equal(t, segment.Text(rule), c.SuggestedRuleText)
	}
	require.Equal(t, 9.0, *res.Clusters[0].Centre.Nps)
	require.Equal(t, 1.0, res.Clusters[0].Centre.NpsShare)
	require.Nil(t, res.Clusters[1].Centre.Nps)
	require.InDelta(t, 20.25, res.Clusters[2].Centre.RecencyDays, 0.01, "20 days and 6 hours")
}

func TestDiscoverChoosesKBySilhouette(t *testing.T) {
	t.Parallel()
	p := newProject(t)
	now := fixedNow()
	p.plant(t, now.Add(-6*time.Hour), plantedGroups())

	res, err := discovery.Discover(p.ctx, p.db, discovery.Params{ProjectID: p.id, WithinDays: 28, Seed: 1, Now: now})
	require.NoError(t, err)
	require.Equal(t, 3, res.K)
	require.Len(t, res.KScores, discovery.MaxK-discovery.MinK+1)
	best := slices.MaxFunc(res.KScores, func(a, b schematypeScore) int { return compareFloat(a.Silhouette, b.Silhouette) })
	require.Equal(t, 3, best.K, "scores %+v", res.KScores)
	require.InDelta(t, best.Silhouette, res.Silhouette, 1e-9, "all users fit in one silhouette sample")
}

func TestDiscoverNeedsEnoughUsers(t *testing.T) {
	t.Parallel()
	p := newProject(t)
	now := fixedNow()
	groups := plantedGroups()
	groups[0].users = 2
	p.plant(t, now.Add(-6*time.Hour), groups[:1])

	_, err := discovery.Discover(p.ctx, p.db, discovery.Params{ProjectID: p.id, WithinDays: 28, Seed: 1, Now: now})
	require.ErrorIs(t, err, discovery.ErrTooFewUsers)
	require.ErrorContains(t, err, "2 users were active in the last 28 days; clustering needs at least 3")
	_, err = discovery.Discover(p.ctx, p.db, discovery.Params{ProjectID: p.id, WithinDays: 28, K: 2, Seed: 1, Now: now})
	require.ErrorIs(t, err, discovery.ErrTooFewUsers)
}

type schematypeScore = schematype.DiscoveryKScore

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestDiscoverReportsWhatRulesCannotSay: two groups that differ only in the
// breadth and number of events cluster apart, but no rule condition speaks
// of breadth, so the suggested rule is the whole window and its precision
// says so.
func TestDiscoverReportsWhatRulesCannotSay(t *testing.T) {
	t.Parallel()
	p := newProject(t)
	now := fixedNow()
	days := []int{0, 1, 2, 3}
	groups := p.plant(t, now.Add(-6*time.Hour), []behaviour{
		{prefix: "narrow", users: 24, days: days, names: []string{"open"}, devices: []string{"mobile"}},
		{prefix: "broad", users: 16, days: days, names: []string{"a", "b", "c", "d", "e", "f", "g", "h"}, devices: []string{"mobile"}},
	})
	res, err := discovery.Discover(p.ctx, p.db, discovery.Params{ProjectID: p.id, WithinDays: 28, K: 2, Seed: 3, Now: now})
	require.NoError(t, err)
	for i, c := range res.Clusters {
		got := slices.Clone(res.Members[i])
		slices.Sort(got)
		require.Equal(t, groups[i], got)
		require.Equal(t, "last seen in the last 28 days", c.SuggestedRuleText)
		require.Equal(t, 40, c.SuggestedSize)
		require.InDelta(t, float64(c.Size)/40, c.Precision, 1e-9)
		require.Equal(t, 1.0, c.Recall)
	}
	require.Equal(t, "active 4 of 28 days, last seen under a day ago, 4 events, 1 distinct event, 100% mobile", res.Clusters[0].Description)
}
