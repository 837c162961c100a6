package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

type userPage struct {
	Users struct {
		TotalCount int `json:"totalCount"`
		PageInfo   struct {
			HasNextPage     bool   `json:"hasNextPage"`
			HasPreviousPage bool   `json:"hasPreviousPage"`
			StartCursor     string `json:"startCursor"`
			EndCursor       string `json:"endCursor"`
		} `json:"pageInfo"`
		Edges []struct {
			Node struct {
				ExternalID string `json:"externalId"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"users"`
}

func (p userPage) externalIDs() []string {
	ids := make([]string, len(p.Users.Edges))
	for i, e := range p.Users.Edges {
		ids[i] = e.Node.ExternalID
	}
	return ids
}

const usersQuery = `query($first: Int, $after: Cursor, $last: Int, $before: Cursor, $orderBy: [UserOrder!], $where: UserWhereInput) {
  users(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, where: $where) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { externalId } }
  }
}`

// TestUserFiltersAndOrder is a table of where filters and orders over six
// users u-0..u-5 whose eventCount is their index, whose lastSeenAt is index
// hours ago and whose plan alternates free/pro.
func TestUserFiltersAndOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b, b.project, "u", 6)

	tests := []struct {
		name string
		vars map[string]any
		want []string
	}{
		{"default order is by id", map[string]any{"first": 10}, []string{"u-0", "u-1", "u-2", "u-3", "u-4", "u-5"}},
		{"eventCount descending", map[string]any{"first": 10, "orderBy": []any{map[string]any{"field": "EVENT_COUNT", "direction": "DESC"}}},
			[]string{"u-5", "u-4", "u-3", "u-2", "u-1", "u-0"}},
		{"lastSeenAt ascending is most recent last", map[string]any{"first": 3, "orderBy": []any{map[string]any{"field": "LAST_SEEN_AT", "direction": "ASC"}}},
			[]string{"u-5", "u-4", "u-3"}},
		{"eventCount >= 3", map[string]any{"first": 10, "where": map[string]any{"eventCountGTE": 3}}, []string{"u-3", "u-4", "u-5"}},
		{"externalId in", map[string]any{"first": 10, "where": map[string]any{"externalIDIn": []string{"u-1", "u-4", "nobody"}}}, []string{"u-1", "u-4"}},
		{"or of filters", map[string]any{"first": 10, "where": map[string]any{"or": []any{
			map[string]any{"eventCountLT": 1}, map[string]any{"eventCountGT": 4},
		}}}, []string{"u-0", "u-5"}},
		{"has segments (current members)", map[string]any{"first": 10, "where": map[string]any{"hasSegments": true}}, []string{"u-0", "u-2", "u-4"}},
		{"has an export event", map[string]any{"first": 2, "where": map[string]any{"hasEventsWith": []any{map[string]any{"name": "export"}}}}, []string{"u-0", "u-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var page userPage
			b.query(t, b.project.Read, usersQuery, tt.vars, &page)
			require.Equal(t, tt.want, page.externalIDs())
		})
	}
}

// TestUserPagination walks forwards and backwards with cursors.
func TestUserPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b, b.project, "u", 5)
	order := []any{map[string]any{"field": "EVENT_COUNT", "direction": "ASC"}}

	var seen []string
	var after any
	for range 3 {
		var page userPage
		b.query(t, b.project.Read, usersQuery, map[string]any{"first": 2, "after": after, "orderBy": order}, &page)
		require.Equal(t, 5, page.Users.TotalCount)
		seen = append(seen, page.externalIDs()...)
		after = page.Users.PageInfo.EndCursor
		if !page.Users.PageInfo.HasNextPage {
			break
		}
	}
	require.Equal(t, []string{"u-0", "u-1", "u-2", "u-3", "u-4"}, seen)

	var last userPage
	b.query(t, b.project.Read, usersQuery, map[string]any{"last": 2, "orderBy": order}, &last)
	require.Equal(t, []string{"u-3", "u-4"}, last.externalIDs())
	require.True(t, last.Users.PageInfo.HasPreviousPage)

	var before userPage
	b.query(t, b.project.Read, usersQuery, map[string]any{"last": 2, "before": last.Users.PageInfo.StartCursor, "orderBy": order}, &before)
	require.Equal(t, []string{"u-1", "u-2"}, before.externalIDs())

	_, res := b.do(t, b.project.Read, usersQuery, map[string]any{"first": -1})
	require.Equal(t, "BAD_USER_INPUT", res.code(), "errors: %+v", res.Errors)
}

// TestConnectionsOfEveryEntity pages every root connection and the nested
// ones with a filter, checking the counts seeded.
func TestConnectionsOfEveryEntity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "c", 4)

	var out struct {
		Events    struct{ TotalCount int } `json:"events"`
		Exports   struct{ TotalCount int } `json:"exports"`
		Feedbacks struct{ TotalCount int } `json:"feedbacks"`
		Surveys   struct {
			Edges []struct {
				Node struct {
					Name      string
					Questions []struct{ Prompt string }
					Responses struct{ TotalCount int }
				}
			}
		} `json:"surveys"`
		Segments struct {
			Edges []struct {
				Node struct {
					Name    string
					Members struct {
						TotalCount int
						Edges      []struct{ Node struct{ ExternalID string } }
					}
					Runs struct {
						Edges []struct{ Node struct{ Seq int } }
					}
				}
			}
		} `json:"segments"`
	}
	b.query(t, b.project.Read, `{
	  events { totalCount }
	  exports: events(where: {name: "export"}) { totalCount }
	  feedbacks(where: {kind: BUG}) { totalCount }
	  surveys(first: 5) { edges { node { name questions { prompt } responses { totalCount } } } }
	  segments(first: 5) { edges { node { name
	    members(first: 10, orderBy: [{field: EXTERNAL_ID, direction: DESC}]) { totalCount edges { node { externalId } } }
	    runs(first: 5) { edges { node { seq } } } } } }
	}`, nil, &out)
	require.Equal(t, 8, out.Events.TotalCount)
	require.Equal(t, 4, out.Exports.TotalCount)
	require.Equal(t, 4, out.Feedbacks.TotalCount)
	require.Len(t, out.Surveys.Edges, 1)
	require.Equal(t, s.Survey.Name, out.Surveys.Edges[0].Node.Name)
	require.Equal(t, "How likely?", out.Surveys.Edges[0].Node.Questions[0].Prompt)
	require.Equal(t, 1, out.Surveys.Edges[0].Node.Responses.TotalCount)
	require.Len(t, out.Segments.Edges, 1)
	seg := out.Segments.Edges[0].Node
	require.Equal(t, 2, seg.Members.TotalCount)
	require.Equal(t, "c-2", seg.Members.Edges[0].Node.ExternalID)
	require.Equal(t, "c-0", seg.Members.Edges[1].Node.ExternalID)
	require.Equal(t, 1, seg.Runs.Edges[0].Node.Seq)
}
