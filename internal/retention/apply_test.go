package retention_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/retention"
)

// future is a clock years ahead of the real one (see riverClient): 03:00
// UTC on January 15th, the evening before in Los Angeles.
func future() time.Time {
	return time.Date(time.Now().Year()+3, time.January, 15, 3, 0, 0, 0, time.UTC)
}

// history is what fill stores, the same in every project.
type history struct {
	now    time.Time
	cutoff time.Time // of a 30-day retention in Los Angeles: now - 30 × 24 h
	year   int       // of the days before January
}

// fill stores events, daily activity, feedback with history and survey
// responses on both sides of a 30-day retention at h.now in Los Angeles,
// and of a 365-day one.
func fill(t *testing.T, b *bundle, h history) {
	t.Helper()
	day := 24 * time.Hour
	ann, bob := b.user(t, "ann"), b.user(t, "bob")
	for _, e := range []struct {
		user int
		name string
		at   time.Time
	}{
		{ann, "export", h.now.Add(-time.Hour)},
		{ann, "export", h.cutoff},                        // the first instant kept
		{ann, "export", h.cutoff.Add(-time.Microsecond)}, // the last one deleted
		{ann, "export", h.now.Add(-31 * day)},
		{bob, "login", h.now.Add(-2 * day)},
		{bob, "login", h.now.Add(-40 * day)},
		{bob, "$page", h.now.Add(-400 * day)},
	} {
		b.event(t, e.user, e.name, e.at)
	}
	// Today in Los Angeles is January 14th: the 30 days kept start on
	// December 16th (in UTC they would start on the 17th).
	for _, d := range []struct {
		user int
		day  string
	}{{ann, "-12-16"}, {ann, "-12-15"}, {bob, "-12-16"}, {bob, "-12-01"}} {
		b.day(t, d.user, itoa(h.year)+d.day)
	}
	b.day(t, ann, itoa(h.year+1)+"-01-14")
	b.feedback(t, ann, h.now.Add(-day), 1)
	b.feedback(t, ann, h.now.Add(-31*day), 2)
	b.feedback(t, bob, h.now.Add(-100*day), 1)
	survey := b.survey(t)
	b.response(t, survey, ann, h.now.Add(-5*day))
	b.response(t, survey, bob, h.now.Add(-45*day))
	b.response(t, b.survey(t), bob, h.now.Add(-500*day))
}

// TestApplyDeletesExactlyTheExpired: a 30-day retention in Los Angeles
// deletes every row of every table stamped before its cutoff, and only
// those, counting days in the project's time zone; another project with
// the same rows keeps them all, one with a year's retention keeps its year.
func TestApplyDeletesExactlyTheExpired(t *testing.T) {
	t.Parallel()
	now := future()
	h := history{now: now, cutoff: now.Add(-30 * 24 * time.Hour), year: now.Year() - 1}
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	require.Equal(t, retention.Cutoff{Time: h.cutoff, FirstDay: itoa(h.year) + "-12-16"}, retention.CutoffAt(now, la, 30))

	b := setup(t)
	unlimited := b.other(t, t.Name()+" unlimited")
	yearly := b.other(t, t.Name()+" yearly")
	for _, p := range []*bundle{b, unlimited, yearly} {
		fill(t, p, h)
	}
	b.set(t, "America/Los_Angeles", 30)
	yearly.set(t, "America/Los_Angeles", 365)
	all := unlimited.rows(t)
	beforeYearly := yearly.rows(t)

	var mu sync.Mutex
	batches := map[string]int{}
	removed, done, err := retention.Apply(context.Background(), b.db, b.projectID, retention.Options{Now: func() time.Time { return now },
		OnDeleted: func(table string, rows int) { mu.Lock(); batches[table] += rows; mu.Unlock() }})
	require.NoError(t, err)
	require.True(t, done)
	want := retention.Removed{retention.TableEvents: 4, retention.TableDailyActivities: 2, retention.TableFeedbacks: 2,
		retention.TableFeedbackChanges: 3, retention.TableSurveyResponses: 2}
	require.Equal(t, want, removed)
	require.Equal(t, map[string]int(want), batches, "every deleted row is counted once")

	day := 24 * time.Hour
	require.Equal(t, map[string][]string{
		retention.TableEvents:          {"export " + stamp(h.cutoff), "export " + stamp(now.Add(-time.Hour)), "login " + stamp(now.Add(-2*day))},
		retention.TableDailyActivities: {itoa(h.year) + "-12-16", itoa(h.year) + "-12-16", itoa(h.year+1) + "-01-14"},
		retention.TableFeedbacks:       {stamp(now.Add(-day))},
		retention.TableFeedbackChanges: {stamp(now.Add(-day))},
		retention.TableSurveyResponses: {stamp(now.Add(-5 * day))},
	}, b.rows(t))

	require.Equal(t, all, unlimited.rows(t), "a project without a retention keeps everything")
	require.Equal(t, beforeYearly, yearly.rows(t), "another project's rows are not touched")
	removed, done, err = retention.Apply(context.Background(), b.db, unlimited.projectID, retention.Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.True(t, done)
	require.Empty(t, removed)
	require.Equal(t, all, unlimited.rows(t))

	removed, _, err = retention.Apply(context.Background(), b.db, yearly.projectID, retention.Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.Equal(t, retention.Removed{retention.TableEvents: 1, retention.TableSurveyResponses: 1}, removed)

	// Applying again finds nothing more.
	removed, done, err = retention.Apply(context.Background(), b.db, b.projectID, retention.Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.True(t, done)
	require.Empty(t, removed)
}
