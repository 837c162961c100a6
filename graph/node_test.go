package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNodeResolvesEveryEntity fetches each seeded entity through node and
// checks its type, and checks that API keys need an ADMIN key.
func TestNodeResolvesEveryEntity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "n", 1)
	keys, err := b.client.APIKey.Query().All(b.project.ctx)
	require.NoError(t, err)

	entities := map[string]int{
		"User": s.Users[0].ID, "Event": s.Events[0].ID, "Feedback": s.Feedback[0].ID,
		"Segment": s.Segment.ID, "SegmentMembership": s.Membership.ID, "SegmentRun": s.Run.ID,
		"Survey": s.Survey.ID, "SurveyQuestion": s.Question.ID, "SurveyResponse": s.Response.ID,
		"Project": b.project.ID,
	}
	for typename, id := range entities {
		var out struct {
			Node struct {
				Typename string `json:"__typename"`
				ID       string `json:"id"`
			} `json:"node"`
		}
		b.query(t, b.project.Read, `query($id: ID!) { node(id: $id) { __typename id } }`, map[string]any{"id": gid(id)}, &out)
		require.Equal(t, typename, out.Node.Typename)
		require.Equal(t, gid(id), out.Node.ID)
	}

	const keyQuery = `query($id: ID!) { node(id: $id) { ... on APIKey { role prefix } } }`
	_, res := b.do(t, b.project.Read, keyQuery, map[string]any{"id": gid(keys[0].ID)})
	require.Equal(t, "FORBIDDEN", res.code())
	require.JSONEq(t, `{"node":null}`, string(res.Data))
	b.query(t, b.project.Admin, keyQuery, map[string]any{"id": gid(keys[0].ID)}, nil)

	var many struct {
		Nodes []*struct {
			ID string `json:"id"`
		} `json:"nodes"`
	}
	status, res := b.do(t, b.project.Read, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
		map[string]any{"ids": []string{gid(s.Users[0].ID), gid(keys[0].ID), "999999999999"}})
	require.Equal(t, 200, status)
	require.NoError(t, jsonUnmarshal(res.Data, &many))
	require.Len(t, many.Nodes, 3)
	require.Equal(t, gid(s.Users[0].ID), many.Nodes[0].ID)
	require.Nil(t, many.Nodes[1], "an API key is hidden from a READ key")
	require.Nil(t, many.Nodes[2], "an unknown id resolves to null")
	codes := map[string]bool{}
	for _, e := range res.Errors {
		codes[e.Extensions["code"].(string)] = true
	}
	require.Equal(t, map[string]bool{"FORBIDDEN": true, "NOT_FOUND": true}, codes)
}

// TestNodeTypeFromID resolves node's type from the id's range, as @idOf
// does: an id of no table's range is NOT_FOUND without a statement.
func TestNodeTypeFromID(t *testing.T) {
	t.Parallel()
	b := setupCounting(t)
	before := b.queries.Load()
	_, res := b.do(t, b.project.Read, `query($id: ID!) { node(id: $id) { __typename id } }`, map[string]any{"id": "999999999999"})
	require.Zero(t, b.queries.Load()-before, "statements")
	require.Equal(t, "NOT_FOUND", res.code(), "errors: %+v", res.Errors)
	require.JSONEq(t, `{"node":null}`, string(res.Data))
}
