package segment_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// TestRestrictedCompileMatchesReference: a rule compiled for a list of
// users selects the reference's members among them, for random rules and
// random lists: empty, a few of the project's users, repeated ids, ids of
// another project's users and ids of no user.
func TestRestrictedCompileMatchesReference(t *testing.T) {
	t.Parallel()
	const worlds, rulesPerWorld = 4, 150
	for seed := range uint64(worlds) {
		t.Run(fmt.Sprint("world ", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 17))
			w := newWorld(t, rng)
			strangers := w.strangers(t)
			for i := range rulesPerWorld {
				r := w.randomRule(rng, 0)
				users := w.randomUsers(rng, strangers)
				env := w.env
				env.Users = users
				got := w.membersIn(t, r, env)
				want := []int{}
				for _, id := range segment.Evaluate(r, w.data, w.env) {
					if slices.Contains(users, int64(id)) {
						want = append(want, id)
					}
				}
				if !equalIDs(got, want) {
					rule, _ := json.Marshal(r)
					t.Fatalf("rule %d %s for users %v:\nsql       %v\nreference %v", i, rule, users, got, want)
				}
			}
		})
	}
}

// TestRestrictedCompileShape: the restricted statement binds the list once
// and filters the users and the first inner-joined scan by it; the later
// inner-joined scans read only the users that one kept, and a left-joined
// scan (one a user may have no rows in and still hold) the list.
func TestRestrictedCompileShape(t *testing.T) {
	t.Parallel()
	r := decode(t, `{"and":[{"event":{"name":"export","withinDays":30}},{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":7}},
		{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":7}},{"feedback":{"kind":"BUG"}},{"feedback":{"npsCategory":"PROMOTER"}}]}`)
	env := segment.Env{ProjectID: 1, Now: partsNow, Users: []int64{4, 9}}
	q, err := segment.Compile(r, env)
	require.NoError(t, err)
	placeholder := ""
	for i, a := range q.Args {
		if ids, ok := a.(*pq.Int64Array); ok {
			require.Empty(t, placeholder, "the list is bound once")
			require.Equal(t, pq.Int64Array{4, 9}, *ids)
			placeholder = fmt.Sprintf("$%d", i+1)
		}
	}
	require.NotEmpty(t, placeholder)
	filter := "user_id = ANY(" + placeholder + "::bigint[])"
	require.Contains(t, q.SQL, "FROM (SELECT DISTINCT unnest("+placeholder+"::bigint[])) AS listed(id) JOIN users u ON u.id = listed.id")
	require.Contains(t, q.SQL, "WHERE u.project_id = $1 AND (")
	require.Contains(t, q.SQL, "AND "+filter+" GROUP BY user_id HAVING")
	require.Contains(t, q.SQL, "AND events > 0 AND user_id IN (SELECT user_id FROM ev) GROUP BY user_id")
	require.Contains(t, q.SQL, "feedbacks WHERE project_id = $1 AND user_id IN (SELECT user_id FROM ev) GROUP BY user_id")

	either := decode(t, `{"or":[{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":7}},{"not":{"feedback":{"kind":"BUG"}}}]}`)
	q, err = segment.Compile(either, env)
	require.NoError(t, err)
	for i, a := range q.Args {
		if _, ok := a.(*pq.Int64Array); ok {
			filter = fmt.Sprintf("user_id = ANY($%d::bigint[])", i+1)
		}
	}
	require.Contains(t, q.SQL, "AND events > 0 AND "+filter+" GROUP BY user_id")
	require.Contains(t, q.SQL, "feedbacks WHERE project_id = $1 AND "+filter+" GROUP BY user_id")
	require.NotContains(t, q.SQL, "IN (SELECT user_id FROM")

	env.Users = nil
	unrestricted, err := segment.Compile(r, env)
	require.NoError(t, err)
	require.NotContains(t, unrestricted.SQL, "bigint[]")
}

// strangers are ids that are not users of the world's project: another
// project's users (the package's other tests make some) and ids of no user.
func (w *world) strangers(t *testing.T) []int64 {
	var ids []int64
	rows, err := w.db.Query(`SELECT id FROM users WHERE project_id <> $1 ORDER BY id LIMIT 5`, w.env.ProjectID)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	var highest int64
	require.NoError(t, w.db.QueryRow(`SELECT COALESCE(max(id), 0) FROM users`).Scan(&highest))
	return append(ids, highest+1, highest+1000, 0, -1)
}

// randomUsers is a list for Env.Users: empty one time in six, else some of
// the project's users, maybe repeated, maybe with strangers.
func (w *world) randomUsers(rng *rand.Rand, strangers []int64) []int64 {
	users := []int64{}
	if rng.IntN(6) == 0 {
		return users
	}
	for range 1 + rng.IntN(len(w.data.Users)) {
		users = append(users, int64(w.data.Users[rng.IntN(len(w.data.Users))].ID))
	}
	if rng.IntN(2) == 0 {
		users = append(users, strangers[rng.IntN(len(strangers))])
	}
	rng.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
	return users
}

// membersIn runs the rule compiled for env.
func (w *world) membersIn(t *testing.T, r *segment.Rule, env segment.Env) []int {
	t.Helper()
	q, err := segment.Compile(r, env)
	require.NoError(t, err)
	rows, err := w.db.Query(q.SQL, q.Args...)
	require.NoError(t, err, "sql: %s", q.SQL)
	defer rows.Close()
	ids := []int{}
	for rows.Next() {
		var id int
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	sort.Ints(ids)
	return ids
}
