package graph_test

import (
	"fmt"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// setupCounting is setup with the API key lookups left out of b.queries,
// so that a count is the statements the resolvers run.
func setupCounting(t *testing.T) *testBundle {
	t.Helper()
	keys := auth.NewKeys(ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, pgtest.DB(t)))))
	return setupWith(t, graph.Options{Keys: keys})
}

// TestQueryCount pins the SQL statements of each query shape: a level of
// nested connections costs one statement for all its parents, and one
// more only when its totalCount is selected and neither stored nor
// counted with a first page; node and
// nodes spend none on finding the type, which the id carries.
func TestQueryCount(t *testing.T) {
	t.Parallel()
	b := setupCounting(t)
	s := seed(t, b, b.project, "q", 6)
	var page struct {
		Events struct{ PageInfo struct{ EndCursor string } }
	}
	b.query(t, b.project.Read, `{ events(first: 1) { pageInfo { endCursor } } }`, nil, &page)
	firstEvent := page.Events.PageInfo.EndCursor
	// A second run, which moved nobody: the runs' users are one statement
	// for both.
	_, err := b.client.SegmentRun.Create().SetSegmentID(s.Segment.ID).
		SetTrigger(segmentrun.TriggerMANUAL).SetStatus(segmentrun.StatusCOMPLETED).SetSeq(2).Save(b.project.ctx)
	require.NoError(t, err)

	tests := []struct {
		name       string
		query      string
		vars       map[string]any
		statements int64
		// want maps gjson paths of the data to their values.
		want map[string]any
	}{
		{"user list", `{ users(first: 20) { edges { node { id externalId lastSeenAt } } } }`, nil, 1,
			map[string]any{"users.edges.#": 6, "users.edges.5.node.externalId": "q-5"}},
		{"user list with totalCount", `{ users(first: 2) { totalCount edges { node { id } } } }`, nil, 2,
			map[string]any{"users.totalCount": 6, "users.edges.#": 2}},
		{"user list with pageInfo, no count", `{ users(first: 2) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`, nil, 1,
			map[string]any{"users.pageInfo.hasNextPage": true, "users.edges.#": 2}},
		{"totalCount alone", `{ events { totalCount } }`, nil, 1, map[string]any{"events.totalCount": 12}},
		{"pageInfo without a page reads nothing", `{ events { pageInfo { hasNextPage hasPreviousPage } } }`, nil, 0,
			map[string]any{"events.pageInfo.hasNextPage": false, "events.pageInfo.hasPreviousPage": false}},
		{"a page of zero still tells whether there is a next", `{ users(first: 0) { pageInfo { hasNextPage } edges { node { id } } } }`, nil, 1,
			map[string]any{"users.pageInfo.hasNextPage": true, "users.edges.#": 0}},
		{"nested pages of zero tell it per parent", `{ users(first: 20) { edges { node { events(first: 0) { pageInfo { hasNextPage } } } } } }`, nil, 2,
			map[string]any{"users.edges.#": 6, "users.edges.0.node.events.pageInfo.hasNextPage": true}},
		{"users with their latest events and count", `{ users(first: 20) { edges { node { id
			events(first: 5, orderBy: {field: TIMESTAMP, direction: DESC}) { totalCount edges { node { name timestamp } } } } } } }`, nil, 2,
			map[string]any{"users.edges.#": 6, "users.edges.0.node.events.totalCount": 2, "users.edges.3.node.events.edges.0.node.name": "export"}},
		{"users with their latest events, pageInfo and no count", `{ users(first: 20) { edges { node { id
			events(first: 1) { pageInfo { hasNextPage } edges { node { name } } } } } } }`, nil, 2,
			map[string]any{"users.edges.#": 6, "users.edges.2.node.events.pageInfo.hasNextPage": true, "users.edges.2.node.events.edges.#": 1}},
		{"users with a later page of their events count them apart", `query($after: Cursor) { users(first: 20) { edges { node { id
			events(first: 5, after: $after) { totalCount edges { node { name } } } } } } }`, map[string]any{"after": firstEvent}, 3,
			map[string]any{"users.edges.#": 6, "users.edges.3.node.events.totalCount": 2}},
		{"users with their feedback", `{ users(first: 20) { edges { node { feedback(first: 5) { edges { node { text } } } } } } }`, nil, 2,
			map[string]any{"users.edges.4.node.feedback.edges.0.node.text": "it broke"}},
		{"users with their segments and count", `{ users(first: 20) { edges { node { segments(first: 5) { totalCount edges { node { name } } } } } } }`, nil, 3,
			map[string]any{"users.edges.0.node.segments.totalCount": 1, "users.edges.1.node.segments.totalCount": 0, "users.edges.2.node.segments.edges.0.node.name": "q evens"}},
		{"members of a segment with their stored count", `query($id: ID!) { node(id: $id) { ... on Segment {
			members(first: 100) { totalCount edges { node { id externalId traits } } } } } }`, map[string]any{"id": gid(s.Segment.ID)}, 2,
			map[string]any{"node.members.totalCount": 3, "node.members.edges.#": 3, "node.members.edges.1.node.traits.plan": "free"}},
		{"filtered members are counted", `query($id: ID!) { node(id: $id) { ... on Segment {
			members(first: 1, where: {externalIdIn: ["q-0", "q-2"]}) { totalCount edges { node { externalId } } } } } }`, map[string]any{"id": gid(s.Segment.ID)}, 3,
			map[string]any{"node.members.totalCount": 2, "node.members.edges.0.node.externalId": "q-0"}},
		{"segments with members, stored count and runs", `{ segments(first: 5) { edges { node { name
			members(first: 10) { totalCount edges { node { externalId } } } runs(first: 5) { edges { node { seq } } } } } } }`, nil, 3,
			map[string]any{"segments.edges.0.node.members.totalCount": 3, "segments.edges.0.node.members.edges.2.node.externalId": "q-4", "segments.edges.0.node.runs.edges.0.node.seq": 1}},
		{"runs of segments with the users each moved", `{ segments(first: 5) { edges { node { runs(first: 5) { edges { node { seq
			entered(first: 2) { totalCount pageInfo { hasNextPage } edges { node { externalId } } } exited(first: 2) { edges { node { id } } } } } } } } } }`, nil, 4,
			map[string]any{"segments.edges.0.node.runs.edges.0.node.entered.totalCount": 3, "segments.edges.0.node.runs.edges.0.node.entered.edges.#": 2,
				"segments.edges.0.node.runs.edges.0.node.entered.pageInfo.hasNextPage": true, "segments.edges.0.node.runs.edges.0.node.entered.edges.1.node.externalId": "q-2",
				"segments.edges.0.node.runs.edges.0.node.exited.edges.#": 0, "segments.edges.0.node.runs.edges.1.node.entered.totalCount": 0}},
		{"one user by id", `query($id: ID!) { node(id: $id) { ... on User { id externalId traits lastSeenAt } } }`, map[string]any{"id": gid(s.Users[3].ID)}, 1,
			map[string]any{"node.externalId": "q-3", "node.traits.index": 3}},
		{"nodes of three types", `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`,
			map[string]any{"ids": []string{gid(s.Users[1].ID), gid(s.Segment.ID), gid(s.Events[0].ID), gid(s.Users[2].ID)}}, 3,
			map[string]any{"nodes.0.__typename": "User", "nodes.1.__typename": "Segment", "nodes.2.__typename": "Event", "nodes.3.id": gid(s.Users[2].ID)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the statement counter is the bundle's.
			before := b.queries.Load()
			status, res := b.do(t, b.project.Read, tt.query, tt.vars)
			used := b.queries.Load() - before
			require.Equal(t, 200, status)
			require.Empty(t, res.Errors)
			for path, want := range tt.want {
				got := gjson.GetBytes(res.Data, path)
				require.True(t, got.Exists(), "%s missing from %s", path, res.Data)
				require.Equal(t, fmt.Sprint(want), got.String(), "%s of %s", path, res.Data)
			}
			require.Equal(t, tt.statements, used, "SQL statements")
		})
	}
}

// TestNestedQueryCount proves nested connections are loaded per level, not
// per parent: segments → members → user.segments costs the same number of
// SQL statements for one segment as for five.
func TestNestedQueryCount(t *testing.T) {
	t.Parallel()
	const query = `query($n: Int!) {
	  segments(first: $n) { totalCount edges { node { id name
	    members(first: 10) { totalCount edges { node { externalId
	      segments(first: 10) { totalCount edges { node { name } } } } } } } } }
	}`

	count := func(segments int) int64 {
		b := setupCounting(t)
		s := seed(t, b, b.project, "q", 6)
		for i := 1; i < segments; i++ {
			seg, err := b.client.Segment.Create().SetName(fmt.Sprintf("extra %d", i)).SetSize(3).Save(b.project.ctx)
			require.NoError(t, err)
			for _, u := range s.Users[:3] {
				require.NoError(t, b.client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(u.ID).Exec(b.project.ctx))
			}
		}
		var out struct {
			Segments struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Members struct {
							TotalCount int
							Edges      []struct {
								Node struct {
									Segments struct{ TotalCount int }
								}
							}
						}
					}
				}
			}
		}
		before := b.queries.Load()
		b.query(t, b.project.Read, query, map[string]any{"n": segments}, &out)
		used := b.queries.Load() - before
		require.Equal(t, segments, out.Segments.TotalCount)
		require.Len(t, out.Segments.Edges, segments)
		for _, e := range out.Segments.Edges {
			require.Equal(t, 3, e.Node.Members.TotalCount)
			require.Len(t, e.Node.Members.Edges, 3)
			for _, m := range e.Node.Members.Edges {
				require.Positive(t, m.Node.Segments.TotalCount)
			}
		}
		return used
	}

	one, five := count(1), count(5)
	t.Logf("SQL statements: %d for 1 segment, %d for 5", one, five)
	require.Equal(t, one, five, "nested connections must not issue a query per parent")
	// The segments and their count, the members (counts stored), the
	// members' segments and their count.
	require.Equal(t, int64(5), five)
}
