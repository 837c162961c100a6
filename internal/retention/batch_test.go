package retention_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/retention"
)

// expired stores n expired rows in each table (events of two names,
// feedback with a change each, responses to two surveys) and one kept.
func expired(t *testing.T, b *bundle, now time.Time, n int) {
	t.Helper()
	day := 24 * time.Hour
	surveys := []int{b.survey(t), b.survey(t)}
	for i := range n {
		user := b.user(t, "u"+itoa(i))
		at := now.Add(-40*day - time.Duration(i)*time.Minute)
		b.event(t, user, []string{"export", "login"}[i%2], at)
		b.event(t, user, "export", at) // two at one instant: a batch may end between them
		b.day(t, user, at.Format(time.DateOnly))
		b.feedback(t, user, at, 1)
		b.response(t, surveys[i%2], user, at)
	}
	keeper := b.user(t, "keeper")
	b.event(t, keeper, "export", now.Add(-time.Hour))
	b.day(t, keeper, now.Format(time.DateOnly))
	b.feedback(t, keeper, now.Add(-time.Hour), 1)
	b.response(t, surveys[0], keeper, now.Add(-time.Hour))
}

// kept is what expired keeps.
func kept(now time.Time) map[string][]string {
	at := stamp(now.Add(-time.Hour))
	return map[string][]string{
		retention.TableEvents: {"export " + at}, retention.TableDailyActivities: {now.Format(time.DateOnly)},
		retention.TableFeedbacks: {at}, retention.TableFeedbackChanges: {at}, retention.TableSurveyResponses: {at},
	}
}

// TestApplyBatchesAreBounded: no transaction deletes more than BatchSize
// rows of a table, however many expired, and the batches add up to all of
// them.
func TestApplyBatchesAreBounded(t *testing.T) {
	t.Parallel()
	now := future()
	b := setup(t)
	expired(t, b, now, 23)
	b.set(t, "UTC", 30)

	var (
		mu      sync.Mutex
		largest = map[string]int{}
		count   = map[string]int{}
	)
	removed, done, err := retention.Apply(context.Background(), b.db, b.projectID, retention.Options{
		Now: func() time.Time { return now }, BatchSize: 4,
		OnDeleted: func(table string, rows int) {
			mu.Lock()
			defer mu.Unlock()
			largest[table] = max(largest[table], rows)
			count[table]++
		}})
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, retention.Removed{retention.TableEvents: 46, retention.TableDailyActivities: 23, retention.TableFeedbacks: 23,
		retention.TableFeedbackChanges: 23, retention.TableSurveyResponses: 23}, removed)
	for _, table := range []string{retention.TableEvents, retention.TableDailyActivities, retention.TableFeedbacks, retention.TableSurveyResponses} {
		require.Equal(t, 4, largest[table], table)
	}
	// By name, 35 exports in 9 batches and 11 logins in 3; 23 days and 23
	// feedbacks in 6 each (a feedback batch deletes its history with it);
	// the two surveys' 12 and 11 responses in 3 each.
	require.Equal(t, map[string]int{retention.TableEvents: 12, retention.TableDailyActivities: 6, retention.TableFeedbacks: 6,
		retention.TableFeedbackChanges: 6, retention.TableSurveyResponses: 6}, count)
	require.Equal(t, kept(now), b.rows(t))
}

// TestApplyResumes: a run that stops after a batch (its budget spent) has
// committed that batch and left the rest; runs after it go on where it
// stopped until exactly the expired rows are gone, as a job killed at any
// point is resumed by the next.
func TestApplyResumes(t *testing.T) {
	t.Parallel()
	now := future()
	b := setup(t)
	expired(t, b, now, 5)
	b.set(t, "UTC", 30)

	var (
		mu      sync.Mutex
		largest int
	)
	opts := retention.Options{Now: func() time.Time { return now }, BatchSize: 3, Budget: time.Nanosecond,
		OnDeleted: func(_ string, rows int) { mu.Lock(); largest = max(largest, rows); mu.Unlock() }}
	first, done, err := retention.Apply(context.Background(), b.db, b.projectID, opts)
	require.NoError(t, err)
	require.False(t, done)
	require.Equal(t, retention.Removed{retention.TableEvents: 3}, first, "one batch, then the budget is spent")
	left := b.rows(t)
	require.Len(t, left[retention.TableEvents], 11-3, "the batch is committed")
	require.Len(t, left[retention.TableFeedbacks], 6, "nothing else is")

	total := first
	for runs := 1; !done; runs++ {
		require.Less(t, runs, 50)
		var removed retention.Removed
		removed, done, err = retention.Apply(context.Background(), b.db, b.projectID, opts)
		require.NoError(t, err)
		for table, n := range removed {
			total[table] += n
		}
	}
	require.Equal(t, retention.Removed{retention.TableEvents: 10, retention.TableDailyActivities: 5, retention.TableFeedbacks: 5,
		retention.TableFeedbackChanges: 5, retention.TableSurveyResponses: 5}, total)
	require.LessOrEqual(t, largest, 3)
	require.Equal(t, kept(now), b.rows(t))
}
