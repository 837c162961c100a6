package graph_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestPlainListsAsGqlgen holds the lists rendered in one pass to gqlgen's
// output: the same operations, over the same data, answered with every
// list left to gqlgen must be the same bytes. Every stored field of each
// type listed is selected (read from the schema, so a new field is
// covered), with aliases, fragments, @skip and @include, and nulls.
func TestPlainListsAsGqlgen(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	rendered := map[string]bool{}
	b := setupWith(t, graph.PlainListsTold(graph.Options{}, func(typeName string) {
		mu.Lock()
		defer mu.Unlock()
		rendered[typeName] = true
	}))
	seed(t, b, b.project, "p", 5)
	reference := httptest.NewServer(graph.NewHandler(pgtest.DB(t), b.client, graph.GqlgenLists(graph.Options{})))
	t.Cleanup(reference.Close)
	// A user without traits, last seen or external id: nulls. One whose
	// text needs escaping, and a zero event count.
	_, err := b.client.User.Create().Save(b.project.ctx)
	require.NoError(t, err)
	_, err = b.client.User.Create().SetExternalID("q\"uote\\back\nline\ttab\x01\x1f<tag>&amp;é 💥").
		SetTraits(json.RawMessage(`{"note": "a \"quoted\" <b>&</b>\n", "n": -1.5e3}`)).SetLastSeenAt(time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)).
		Save(b.project.ctx)
	require.NoError(t, err)

	stored := func(typeName string) string { return strings.Join(storedFields(t, b, typeName), " ") }
	queries := []struct {
		name, query string
		rendered    []string // the types of the lists rendered in one pass
	}{
		{"users", `{ users(first: 10) { edges { cursor node { ` + stored("User") + ` } } } }`, []string{"UserConnection"}},
		{"aliases and fragments", `query($yes: Boolean = true) { users(first: 10, orderBy: [{field: EVENT_COUNT, direction: DESC}]) { edges {
		  c: cursor cursor n: node { __typename b: externalId ... on Node { id } ...F traits @include(if: $yes) createdAt @skip(if: $yes) } } } }
		  fragment F on User { eventCount lastSeenAt id }`, []string{"UserConnection"}},
		{"one fragment merged differently in two places", `{ a: users(first: 3) { ...Edges edges { node { externalId } } } b: users(first: 3) { ...Edges } }
		  fragment Edges on UserConnection { edges { node { id } } }`, []string{"UserConnection"}},
		{"a computed field leaves the list to gqlgen", `{ users(first: 10) { edges { node { id anonymousIds } } } }`, nil},
		{"events", `{ events(first: 20) { edges { cursor node { __typename ` + stored("Event") + ` } } } }`, []string{"EventConnection"}},
		{"feedback", `{ feedbacks(first: 10) { edges { node { ` + stored("Feedback") + ` } } } }`, []string{"FeedbackConnection"}},
		{"surveys", `{ surveys(first: 5) { edges { node { ` + stored("Survey") + ` questions { ` + stored("SurveyQuestion") + ` }
		  responses(first: 5) { edges { node { ` + stored("SurveyResponse") + ` } } } } } } }`,
			[]string{"SurveyQuestion", "SurveyResponseConnection"}},
		{"segments", `{ segments(first: 5) { edges { node { ` + stored("Segment") + `
		  runs(first: 5) { edges { node { ` + stored("SegmentRun") + ` } } }
		  memberships(first: 5) { edges { node { ` + stored("SegmentMembership") + ` } } }
		  members(first: 5) { edges { node { ` + stored("User") + ` } } } } } } }`,
			[]string{"SegmentConnection"}},
		{"nested connections", `query($last: Int = 1) { users(first: 10) { edges { node { id
		  latest: events(first: 1, orderBy: {field: TIMESTAMP, direction: DESC}) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
		    edges { cursor node { ` + stored("Event") + ` } } }
		  events(last: $last, where: {name: "login"}) { pageInfo { hasNextPage hasPreviousPage } edges { node { id } } }
		  feedback(first: 5) { totalCount edges { node { id tags } } }
		  segments(first: 5) { totalCount edges { node { name size } } } } } } }`, []string{"UserConnection"}},
		{"a connection not loaded leaves its parents to gqlgen", `{ previewSegment(rule: {trait: {key: "plan", op: EQ, value: "free"}}) {
		  sample { id events(first: 1) { totalCount } } } }`, []string{"EventConnection"}},
		{"api keys", `{ apiKeys { __typename ` + stored("APIKey") + ` } }`, []string{"APIKey"}},
	}
	// Objects as node finds them, one of each kind the seed made.
	var ids struct {
		Data map[string]struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	require.NoError(t, json.Unmarshal(post(t, b.server.URL, b.project.Admin, `{ users(first: 1) { edges { node { id } } }
	  segments(first: 1) { edges { node { id } } } events(first: 1) { edges { node { id } } }
	  feedbacks(first: 1) { edges { node { id } } } surveys(first: 1) { edges { node { id } } } }`), &ids))
	for field, typeName := range map[string]string{"users": "User", "segments": "Segment", "events": "Event", "feedbacks": "Feedback", "surveys": "Survey"} {
		require.NotEmpty(t, ids.Data[field].Edges, field)
		id := ids.Data[field].Edges[0].Node.ID
		q := struct {
			name, query string
			rendered    []string
		}{"node of a " + typeName, `{ node(id: "` + id + `") { __typename id ... on ` + typeName + ` { ` + stored(typeName) + ` } } }`, []string{typeName}}
		queries = append(queries, q)
	}
	for _, q := range queries {
		// Not parallel: rendered is the server's.
		t.Run(q.name, func(t *testing.T) {
			mu.Lock()
			clear(rendered)
			mu.Unlock()
			got, want := post(t, b.server.URL, b.project.Admin, q.query), post(t, reference.URL, b.project.Admin, q.query)
			require.NotContains(t, string(want), `"errors"`)
			require.Equal(t, string(want), string(got))
			mu.Lock()
			defer mu.Unlock()
			for _, typeName := range q.rendered {
				require.True(t, rendered[typeName], "%s lists were left to gqlgen", typeName)
			}
			if q.rendered == nil {
				require.Empty(t, rendered)
			}
		})
	}
}

// TestPlainListPlansFollowTheVariables: a list's plan outlives its
// response only when no directive under it reads the variables, so the
// same document answers as gqlgen does whatever its variables, and a
// plan shared by responses answers each with its own rows.
func TestPlainListPlansFollowTheVariables(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b, b.project, "v", 3)
	reference := httptest.NewServer(graph.NewHandler(pgtest.DB(t), b.client, graph.GqlgenLists(graph.Options{})))
	t.Cleanup(reference.Close)
	conditional := `query($yes: Boolean!, $n: Int!) { users(first: $n) { edges { node { id
	  externalId @include(if: $yes) ...F } } } }
	  fragment F on User { lastSeenAt @skip(if: $yes) }`
	// No directive, so one plan for every response, but nested pages whose
	// size the variables set.
	plain := `query($n: Int!) { users(first: $n) { edges { node { id externalId
	  events(first: $n, orderBy: {field: TIMESTAMP, direction: DESC}) { totalCount edges { node { id name } } } } } } }`
	for _, vars := range []map[string]any{{"yes": true, "n": 3}, {"yes": false, "n": 1}, {"yes": true, "n": 2}} {
		got, want := postWith(t, b.server.URL, b.project.Read, conditional, vars), postWith(t, reference.URL, b.project.Read, conditional, vars)
		require.NotContains(t, string(want), `"errors"`)
		require.Equal(t, string(want), string(got), "variables %v", vars)
		n := map[string]any{"n": vars["n"]}
		require.Equal(t, string(postWith(t, reference.URL, b.project.Read, plain, n)), string(postWith(t, b.server.URL, b.project.Read, plain, n)))
	}
}

// computedFields are fields that take no argument and hold scalars but
// are computed by resolvers, which gqlgen renders.
var computedFields = map[string]bool{"User.anonymousIds": true, "Segment.ruleText": true}

// storedFields are the fields of an object type that take no argument
// and hold scalars, enums or lists of them, computed ones aside.
func storedFields(t *testing.T, b *testBundle, typeName string) []string {
	t.Helper()
	type typeRef struct {
		Kind   string
		OfType *typeRef
	}
	var out struct {
		Type struct {
			Fields []struct {
				Name string
				Args []struct{ Name string }
				Type typeRef
			}
		} `json:"__type"`
	}
	b.query(t, b.project.Read, `query($name: String!) { __type(name: $name) { fields { name args { name }
	  type { kind ofType { kind ofType { kind ofType { kind } } } } } } }`, map[string]any{"name": typeName}, &out)
	var names []string
	for _, f := range out.Type.Fields {
		kind := &f.Type
		for kind.OfType != nil {
			kind = kind.OfType
		}
		if len(f.Args) == 0 && (kind.Kind == "SCALAR" || kind.Kind == "ENUM") && !computedFields[typeName+"."+f.Name] {
			names = append(names, f.Name)
		}
	}
	require.NotEmpty(t, names, "fields of %s", typeName)
	return names
}

// post sends query with key and returns the response body as it came.
func post(t *testing.T, url, key, query string) []byte {
	t.Helper()
	return postWith(t, url, key, query, nil)
}

// postWith is post with variables.
func postWith(t *testing.T, url, key, query string, vars map[string]any) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", raw)
	return raw
}
