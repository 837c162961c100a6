package graph_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// withAnonymousIDs gives user userID the anonymous ids, oldest first.
func (b *testBundle) withAnonymousIDs(t *testing.T, p *testProject, userID int, ids ...string) {
	t.Helper()
	start := time.Now().Add(-time.Hour)
	for i, id := range ids {
		require.NoError(t, b.client.Identity.Create().SetUserID(userID).SetAnonymousID(id).
			SetCreatedAt(start.Add(time.Duration(i)*time.Minute)).Exec(p.ctx))
	}
}

// TestUserByExternalID finds a user by the SDK's userId, with its anonymous
// ids; an unknown one, or one of another project, is null.
func TestUserByExternalID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "ext", 2)
	b.withAnonymousIDs(t, b.project, s.Users[0].ID, "anon-b", "anon-a")
	other := b.newProject(t, t.Name()+" other")
	seed(t, b, other, "elsewhere", 1)

	const query = `query($e: String!) { user(externalId: $e) { id externalId anonymousIds } }`
	b.requireData(t, b.project.Read, query, map[string]any{"e": "ext-0"},
		fmt.Sprintf(`{"user":{"id":%q,"externalId":"ext-0","anonymousIds":["anon-b","anon-a"]}}`, gid(s.Users[0].ID)))
	b.requireData(t, b.project.Read, query, map[string]any{"e": "ext-1"},
		fmt.Sprintf(`{"user":{"id":%q,"externalId":"ext-1","anonymousIds":[]}}`, gid(s.Users[1].ID)))
	b.requireData(t, b.project.Read, query, map[string]any{"e": "nobody"}, `{"user":null}`)
	b.requireData(t, other.Read, query, map[string]any{"e": "ext-0"}, `{"user":null}`)
	b.requireData(t, b.project.Read, query, map[string]any{"e": "elsewhere-0"}, `{"user":null}`)

	_, res := b.do(t, b.project.Ingest, query, map[string]any{"e": "ext-0"})
	require.Equal(t, "FORBIDDEN", res.code(), "an INGEST key reads no user")
}

// TestExplainMembershipByExternalID explains the same membership by the
// User's id and by its external id; exactly one of the two is required.
func TestExplainMembershipByExternalID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "x", 1)
	var created struct{ CreateSegment struct{ ID string } }
	b.query(t, b.project.Admin, `mutation { createSegment(input: {name: "exporters", rule:
	  {event: {name: "export", withinDays: 30}}}) { id } }`, nil, &created)
	segmentID := created.CreateSegment.ID

	const explain = `query($s: ID!, $u: ID, $e: String) { explainMembership(segmentId: $s, userId: $u, externalId: $e) {
	  holds rule { path holds observed } } }`
	want := `{"explainMembership":{"holds":true,"rule":{"path":"rule","holds":true,"observed":"export: 1 times in the last 30 days"}}}`
	b.requireData(t, b.project.Read, explain, map[string]any{"s": segmentID, "u": gid(s.Users[0].ID)}, want)
	b.requireData(t, b.project.Read, explain, map[string]any{"s": segmentID, "e": "x-0"}, want)

	for name, tc := range map[string]struct {
		vars      map[string]any
		code      string
		field     string
		inMessage string
	}{
		"both":    {map[string]any{"s": segmentID, "u": gid(s.Users[0].ID), "e": "x-0"}, "BAD_USER_INPUT", "userId", "not both"},
		"neither": {map[string]any{"s": segmentID}, "BAD_USER_INPUT", "userId", "externalId"},
		"unknown": {map[string]any{"s": segmentID, "e": "nobody"}, "NOT_FOUND", "", `no user has external id "nobody"`},
	} {
		_, res := b.do(t, b.project.Read, explain, tc.vars)
		require.Equal(t, tc.code, res.code(), "%s: %+v", name, res.Errors)
		require.Contains(t, res.Errors[0].Message, tc.inMessage, name)
		if tc.field != "" {
			require.Equal(t, tc.field, res.Errors[0].Extensions["field"], name)
		}
		require.Equal(t, []any{"explainMembership"}, res.Errors[0].Path, name)
	}

	// Another project's key finds neither the segment nor the user.
	other := b.newProject(t, t.Name()+" other")
	otherSegment := b.staticSegment(t, other, "o", 0)
	_, res := b.do(t, other.Read, explain, map[string]any{"s": segmentID, "e": "x-0"})
	require.Equal(t, "NOT_FOUND", res.code())
	_, res = b.do(t, other.Read, explain, map[string]any{"s": otherSegment, "e": "x-0"})
	require.Equal(t, "NOT_FOUND", res.code(), "%+v", res.Errors)
}

// TestUserWhereExternalID filters users by externalId, the field's name;
// the generated externalID still works and is deprecated.
func TestUserWhereExternalID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b, b.project, "w", 3)
	for _, filter := range []string{`{externalId: "w-1"}`, `{externalID: "w-1"}`, `{externalIdIn: ["w-1", "nobody"]}`, `{externalIDIn: ["w-1"]}`} {
		b.requireData(t, b.project.Read, `{ users(first: 10, where: `+filter+`) { edges { node { externalId } } } }`, nil,
			`{"users":{"edges":[{"node":{"externalId":"w-1"}}]}}`)
	}
	b.requireData(t, b.project.Read, `{ users(first: 10, where: {externalIdHasPrefix: "w-", externalIdNEQ: "w-0"}, orderBy: [{field: EXTERNAL_ID}]) {
	  edges { node { externalId } } } }`, nil, `{"users":{"edges":[{"node":{"externalId":"w-1"}},{"node":{"externalId":"w-2"}}]}}`)

	// Whatever names a user, feedback and survey responses among them, is
	// filtered by the user's external id through hasUserWith.
	b.requireData(t, b.project.Read, `{ feedbacks(first: 10, where: {hasUserWith: [{externalId: "w-2"}]}) {
	  totalCount edges { node { user { externalId } } } } }`, nil,
		`{"feedbacks":{"totalCount":1,"edges":[{"node":{"user":{"externalId":"w-2"}}}]}}`)

	var out struct {
		Type struct {
			InputFields []struct {
				Name              string
				IsDeprecated      bool
				DeprecationReason *string
			}
		} `json:"__type"`
	}
	b.query(t, b.project.Read, `{ __type(name: "UserWhereInput") { inputFields(includeDeprecated: true) {
	  name isDeprecated deprecationReason } } }`, nil, &out)
	fields := map[string]bool{}
	for _, f := range out.Type.InputFields {
		fields[f.Name] = f.IsDeprecated
		if f.Name == "externalID" {
			require.Equal(t, "Use externalId.", *f.DeprecationReason)
		}
	}
	require.Equal(t, map[string]bool{"externalId": false, "externalID": true, "externalIdIn": false, "externalIDIn": true},
		map[string]bool{"externalId": fields["externalId"], "externalID": fields["externalID"],
			"externalIdIn": fields["externalIdIn"], "externalIDIn": fields["externalIDIn"]})

	b.query(t, b.project.Read, `{ __type(name: "UserWhereInput") { inputFields { name } } }`, nil, &out)
	for _, f := range out.Type.InputFields {
		require.NotContains(t, f.Name, "externalID", "deprecated filters are hidden unless asked for")
	}
}

// TestAnonymousIDsQueryCount proves anonymousIds is loaded once per list of
// users, not once per user, through a connection and through a nested one.
func TestAnonymousIDsQueryCount(t *testing.T) {
	t.Parallel()
	const (
		page   = `query($n: Int!) { users(first: $n) { edges { node { externalId anonymousIds } } } }`
		nested = `{ segments(first: 1) { edges { node { members(first: 10) { edges { node { externalId anonymousIds } } } } } } }`
	)
	type edges []struct {
		Node struct {
			ExternalID   string `json:"externalId"`
			AnonymousIDs []string
		}
	}
	requireIDs := func(t *testing.T, edges edges) {
		require.NotEmpty(t, edges)
		for _, e := range edges {
			var i int
			_, err := fmt.Sscanf(e.Node.ExternalID, "a-%d", &i)
			require.NoError(t, err)
			require.Equal(t, []string{fmt.Sprintf("anon-%d-a", i), fmt.Sprintf("anon-%d-b", i)}, e.Node.AnonymousIDs)
		}
	}
	count := func(users int) [2]int64 {
		b := setup(t)
		s := seed(t, b, b.project, "a", users)
		for i, u := range s.Users {
			b.withAnonymousIDs(t, b.project, u.ID, fmt.Sprintf("anon-%d-a", i), fmt.Sprintf("anon-%d-b", i))
		}
		var used [2]int64
		var list struct{ Users struct{ Edges edges } }
		before := b.queries.Load()
		b.query(t, b.project.Read, page, map[string]any{"n": users}, &list)
		used[0] = b.queries.Load() - before
		require.Len(t, list.Users.Edges, users)
		requireIDs(t, list.Users.Edges)

		var tree struct {
			Segments struct {
				Edges []struct {
					Node struct{ Members struct{ Edges edges } }
				}
			}
		}
		before = b.queries.Load()
		b.query(t, b.project.Read, nested, nil, &tree)
		used[1] = b.queries.Load() - before
		require.Len(t, tree.Segments.Edges, 1)
		requireIDs(t, tree.Segments.Edges[0].Node.Members.Edges)
		return used
	}
	one, six := count(1), count(6)
	t.Logf("SQL statements (page, nested): %v for 1 user, %v for 6", one, six)
	require.Equal(t, one, six, "anonymousIds must not cost a query per user")
}
