package segment_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// TestCrossersCoverEveryChange is the differential test of Crossers: over
// random worlds, rules and intervals, every user whose reference result at
// an instant of (from, to] differs from the one at from is among the
// crossers of [from, to) run on the database.
func TestCrossersCoverEveryChange(t *testing.T) {
	t.Parallel()
	const worlds, rulesPerWorld, instants = 4, 200, 4
	var mu sync.Mutex
	changed := map[string]int{} // by leaf kind, for rules that are one leaf
	t.Run("worlds", func(t *testing.T) {
		for seed := range uint64(worlds) {
			t.Run(fmt.Sprint("world ", seed), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(seed, 23))
				w := newWorld(t, rng)
				for i := range rulesPerWorld {
					r := w.randomLeaf(rng)
					if rng.IntN(3) == 0 {
						r = w.randomRule(rng, 0)
					}
					from := w.env.Now.Add(time.Duration(rng.Int64N(int64(10*24*time.Hour))) - 4*24*time.Hour)
					span := []time.Duration{time.Second, time.Hour, 13 * time.Hour, 2 * 24 * time.Hour, 5 * 24 * time.Hour}[rng.IntN(5)]
					to := from.Add(span/2 + time.Duration(rng.Int64N(int64(span))))
					crossers := w.crossers(t, r, from, to)
					before := w.evaluateAt(r, from)
					for j := range instants {
						at := to
						if j > 0 {
							at = from.Add(1 + time.Duration(rng.Int64N(int64(to.Sub(from)))))
						}
						after := w.evaluateAt(r, at)
						for _, u := range w.data.Users {
							if before[u.ID] == after[u.ID] {
								continue
							}
							if !crossers[u.ID] {
								rule, _ := json.Marshal(r)
								t.Fatalf("rule %d %s: user %d changed between %s and %s, not a crosser of [%s, %s)",
									i, rule, u.ID, from, at, from, to)
							}
							if leaf := leafKind(r); leaf != "" {
								mu.Lock()
								changed[leaf]++
								mu.Unlock()
							}
						}
					}
				}
			})
		}
	})
	for _, kind := range []string{"event", "activity", "firstSeen", "lastSeen", "platform", "feedback", "survey"} {
		require.Positive(t, changed[kind], "no %s leaf changed with time: the test proves nothing for it", kind)
	}
}

// leafKind is the field of a rule that is one leaf, or "".
func leafKind(r *segment.Rule) string {
	raw, _ := json.Marshal(r)
	var top map[string]json.RawMessage
	_ = json.Unmarshal(raw, &top)
	for field := range top {
		switch field {
		case "and", "or", "not":
			return ""
		}
		return field
	}
	return ""
}

// evaluateAt is the reference result of r at now, by user.
func (w *world) evaluateAt(r *segment.Rule, now time.Time) map[int]bool {
	env := w.env
	env.Now = now
	in := map[int]bool{}
	for _, id := range segment.Evaluate(r, w.data, env) {
		in[id] = true
	}
	return in
}

// crossers runs Crossers(r, from, to) on the world's database.
func (w *world) crossers(t *testing.T, r *segment.Rule, from, to time.Time) map[int]bool {
	t.Helper()
	env := w.env
	env.Now = time.Time{} // ignored
	q, err := segment.Crossers(r, env, from, to)
	require.NoError(t, err)
	out := map[int]bool{}
	if q.SQL == "" {
		return out
	}
	rows, err := w.db.Query(q.SQL, q.Args...)
	require.NoError(t, err, "sql: %s", q.SQL)
	defer rows.Close()
	for rows.Next() {
		var id int
		require.NoError(t, rows.Scan(&id))
		require.False(t, out[id], "user %d returned twice", id)
		out[id] = true
	}
	require.NoError(t, rows.Err())
	return out
}

// TestCrossersShape pins the pieces: one per merged interval and table,
// named events left out where an any-event interval covers them, nothing
// for rules without windows, activity only when its first day changes.
func TestCrossersShape(t *testing.T) {
	t.Parallel()
	env := segment.Env{ProjectID: 1}
	midnight := time.Date(2026, 6, 11, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, rule string
		from, to   time.Time
		pieces     int
		contains   []string
	}{
		{name: "no window", rule: `{"and":[{"event":{"name":"export"}},{"trait":{"key":"plan","op":"EXISTS"}},{"feedback":{"kind":"BUG"}},{"survey":{"surveyId":3}},{"inSegment":4}]}`,
			from: midnight, to: midnight.Add(time.Hour)},
		{name: "activity within a day", rule: `{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":7}}`,
			from: midnight.Add(time.Hour), to: midnight.Add(2 * time.Hour)},
		{name: "activity over midnight", rule: `{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":7}}`,
			from: midnight.Add(-time.Second), to: midnight.Add(time.Second), pieces: 1,
			contains: []string{"WITH RECURSIVE event_names(name)", "name = n.name AND timestamp >= $2 AND timestamp < $3"}},
		{name: "one named event", rule: `{"event":{"name":"export","withinDays":7,"where":[{"property":"x","op":"EXISTS"}]}}`,
			from: midnight, to: midnight.Add(time.Second), pieces: 1,
			contains: []string{"SELECT user_id FROM events WHERE project_id = $1 AND name = $2 AND timestamp >= $3 AND timestamp < $4"}},
		{name: "the same window twice is one piece", rule: `{"or":[{"event":{"name":"export","withinDays":7}},{"not":{"event":{"name":"export","withinDays":7,"count":{"op":"GTE","value":3}}}}]}`,
			from: midnight, to: midnight.Add(time.Second), pieces: 1},
		{name: "overlapping windows merge", rule: `{"or":[{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":7}},{"lastSeen":{"withinDays":8}}]}`,
			from: midnight, to: midnight.Add(48 * time.Hour), pieces: 1},
		{name: "any event covers a named one", rule: `{"and":[{"event":{"name":"export","withinDays":7}},{"firstSeen":{"withinDays":7}}]}`,
			from: midnight, to: midnight.Add(time.Second), pieces: 1, contains: []string{"n.name"}},
		{name: "feedback and survey windows", rule: `{"and":[{"feedback":{"npsCategory":"PROMOTER","withinDays":30}},{"survey":{"surveyId":3,"withinDays":30}},{"survey":{"surveyId":5,"withinDays":1}}]}`,
			from: midnight, to: midnight.Add(time.Second), pieces: 3,
			contains: []string{"FROM feedbacks WHERE project_id = $1 AND timestamp >= $2 AND timestamp < $3",
				"FROM survey_responses WHERE survey_id = $4 AND submitted_at >= $2 AND submitted_at < $3 AND project_id = $1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, err := segment.Crossers(decode(t, tc.rule), env, tc.from, tc.to)
			require.NoError(t, err)
			if tc.pieces == 0 {
				require.Empty(t, q.SQL)
				require.Empty(t, q.Args)
				return
			}
			require.Equal(t, tc.pieces, strings.Count(q.SQL, "\nUNION ALL\n")+1, q.SQL)
			require.Equal(t, 1, q.Args[0])
			for _, s := range tc.contains {
				require.Contains(t, q.SQL, s)
			}
		})
	}
}

// TestCrossersBounds: the window's rows are [from−W, to−W), widened to
// whole microseconds; activity's are the days that left, from their first
// instant in the project's time zone, even where midnight does not exist.
func TestCrossersBounds(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 6, 11, 8, 0, 0, 1500, time.UTC)
	to := from.Add(time.Second)
	q, err := segment.Crossers(decode(t, `{"event":{"name":"export","withinDays":2}}`), segment.Env{ProjectID: 9}, from, to)
	require.NoError(t, err)
	require.Equal(t, []any{9, "export", time.Date(2026, 6, 9, 8, 0, 0, 1000, time.UTC), time.Date(2026, 6, 9, 8, 0, 1, 2000, time.UTC)}, utc(q.Args))

	// Havana skips from midnight to 1:00 on 8 March 2026: that day starts
	// at 5:00 UTC, as 7 March's midnight was.
	havana, err := time.LoadLocation("America/Havana")
	require.NoError(t, err)
	env := segment.Env{ProjectID: 9, Location: havana}
	activity := decode(t, `{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":2}}`)
	// Local midnight of 9 March (CDT) is 4:00 UTC: 7 March leaves the window.
	q, err = segment.Crossers(activity, env, time.Date(2026, 3, 9, 3, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 5, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, []any{9, time.Date(2026, 3, 7, 5, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC)}, utc(q.Args))
	q, err = segment.Crossers(activity, env, time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 5, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, []any{9, time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 4, 0, 0, 0, time.UTC)}, utc(q.Args))

	_, err = segment.Crossers(activity, env, to, to)
	require.ErrorContains(t, err, "from must be before to")
	_, err = segment.Crossers(decode(t, `{"event":{"name":""}}`), env, from, to)
	var verr *segment.ValidationError
	require.ErrorAs(t, err, &verr)
}

// utc shows the instants among args in UTC, to compare them by value.
func utc(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if at, ok := a.(time.Time); ok {
			a = at.UTC()
		}
		out[i] = a
	}
	return out
}

// TestCrossersPastRetention: first and last seen are columns of the user,
// kept when the retention deletes the events that set them. With the events
// gone, the crossers of windows the retention may have emptied come from
// those columns; reading the events instead would miss every change.
func TestCrossersPastRetention(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 23))
	w := newWorld(t, rng)
	_, err := w.db.Exec(`DELETE FROM events WHERE project_id = $1`, w.env.ProjectID)
	require.NoError(t, err)
	var changes, missedByEvents int
	for i := range 120 {
		n := 1 + rng.IntN(7)
		r := decode(t, []string{
			fmt.Sprintf(`{"lastSeen":{"withinDays":%d}}`, n),
			fmt.Sprintf(`{"lastSeen":{"moreThanDaysAgo":%d}}`, n),
			fmt.Sprintf(`{"firstSeen":{"withinDays":%d}}`, n),
		}[i%3])
		from := w.env.Now.Add(time.Duration(rng.Int64N(int64(10*24*time.Hour))) - 4*24*time.Hour)
		to := from.Add(time.Hour + time.Duration(rng.Int64N(int64(2*24*time.Hour))))
		retained, withEvents := *w, *w
		retained.env.RetentionDays = 1 + rng.IntN(n+1) // every window at least the retention's, less a day
		withEvents.env.RetentionDays = 0
		crossers, eventCrossers := retained.crossers(t, r, from, to), withEvents.crossers(t, r, from, to)
		before, after := w.evaluateAt(r, from), w.evaluateAt(r, to)
		for _, u := range w.data.Users {
			if before[u.ID] == after[u.ID] {
				continue
			}
			changes++
			require.True(t, crossers[u.ID], "rule %d: user %d changed between %s and %s, not a crosser", i, u.ID, from, to)
			if !eventCrossers[u.ID] {
				missedByEvents++
			}
		}
	}
	require.Positive(t, changes, "no user changed: the test proves nothing")
	require.Equal(t, changes, missedByEvents, "the events are deleted: crossers read from them find no one")
}
