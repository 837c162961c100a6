package graph_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNestedPagePlans holds the default-ordered (id) pages of nested
// connections to the index of their order (ent/schema/nested.go), in the
// LATERAL form of many parents and the plain form of one: a new segment's
// runs and a user's feedback, among parents of thousands of rows each, read
// only the rows they return. Walking the primary key instead and filtering,
// as PostgreSQL did before the index, reads the whole table for a parent
// with fewer rows than the page.
func TestNestedPagePlans(t *testing.T) {
	t.Parallel()
	b := setupCounting(t)
	p := b.project.ID
	// 20,000 runs over 10 segments and 20,000 feedback over 10 users,
	// written interleaved as they would be; an 11th segment and user have
	// none.
	for _, stmt := range []string{
		`INSERT INTO segments (project_id, name, created_at, updated_at)
		 SELECT $1, 'plan ' || i, now(), now() FROM generate_series(1, 11) i`,
		`INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, entered_count, exited_count)
		 SELECT $1, s.ids[1 + i % 10], 'INGEST', 'COMPLETED', now(), 0, 0
		 FROM generate_series(1, 20000) i, (SELECT array_agg(id ORDER BY id) ids FROM segments WHERE project_id = $1) s`,
		`INSERT INTO users (project_id, external_id, created_at, updated_at)
		 SELECT $1, 'plan ' || i, now(), now() FROM generate_series(1, 11) i`,
		`INSERT INTO feedbacks (project_id, user_id, kind, text, channel, status, timestamp, created_at, updated_at)
		 SELECT $1, u.ids[1 + i % 10], 'BUG', 'it broke', '', 'NEW', now(), now(), now()
		 FROM generate_series(1, 20000) i, (SELECT array_agg(id ORDER BY id) ids FROM users WHERE project_id = $1) u`,
	} {
		_, err := b.db.Exec(stmt, p)
		require.NoError(t, err)
	}
	_, err := b.db.Exec(`ANALYZE segments, segment_runs, users, feedbacks`)
	require.NoError(t, err)
	var newSegment, quietUser int
	require.NoError(t, b.db.QueryRow(`SELECT max(id) FROM segments WHERE project_id = $1`, p).Scan(&newSegment))
	require.NoError(t, b.db.QueryRow(`SELECT max(id) FROM users WHERE project_id = $1`, p).Scan(&quietUser))

	tests := []struct {
		name, query, table, index string
		parents                   int
	}{
		{"segment.runs of every segment", `{ segments(first: 20) { edges { node { runs(first: 5) { edges { node { id } } } } } } }`,
			"segment_runs", "segmentrun_project_id_segment_id_id", 11},
		{"segment.runs of a new segment", fmt.Sprintf(`{ node(id: %q) { ... on Segment { runs(first: 5) { edges { node { id } } } } } }`, gid(newSegment)),
			"segment_runs", "segmentrun_project_id_segment_id_id", 1},
		{"user.feedback of every user", `{ users(first: 20) { edges { node { feedback(first: 5) { edges { node { id } } } } } } }`,
			"feedbacks", "feedback_project_id_user_id_id", 11},
		{"user.feedback of a user without any", fmt.Sprintf(`{ node(id: %q) { ... on User { feedback(first: 5) { edges { node { id } } } } } }`, gid(quietUser)),
			"feedbacks", "feedback_project_id_user_id_id", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the statement log is the bundle's.
			statements := b.statements.record(func() {
				status, res := b.do(t, b.project.Read, tt.query, nil)
				require.Equal(t, 200, status)
				require.Empty(t, res.Errors)
			})
			var page []string
			for _, st := range statements {
				if strings.Contains(st, `FROM "`+tt.table+`"`) {
					page = append(page, st)
				}
			}
			require.Len(t, page, 1, "the statement of the pages among %q", statements)
			plan := explain(t, b, page[0])
			scans := plan.scansOf(tt.table)
			require.NotEmpty(t, scans, "no scan of %s in %s", tt.table, plan.text)
			for _, s := range scans {
				require.Equal(t, tt.index, s.IndexName, "the scan of %s in %s", tt.table, plan.text)
				require.Zero(t, s.RowsRemovedByFilter, "rows of other parents read in %s", plan.text)
			}
			// An index descent and a heap page per row returned (6 per
			// parent, hasNextPage's included) at most; the whole table
			// is about 300 pages.
			require.LessOrEqual(t, plan.Plan.buffers(), 10*tt.parents, "buffers read: %s", plan.text)
		})
	}
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType            string     `json:"Node Type"`
	RelationName        string     `json:"Relation Name"`
	IndexName           string     `json:"Index Name"`
	RowsRemovedByFilter float64    `json:"Rows Removed by Filter"`
	SharedHitBlocks     int        `json:"Shared Hit Blocks"`
	SharedReadBlocks    int        `json:"Shared Read Blocks"`
	Plans               []planNode `json:"Plans"`
}

func (n planNode) buffers() int { return n.SharedHitBlocks + n.SharedReadBlocks }

type explained struct {
	Plan planNode `json:"Plan"`
	text string
}

// scansOf returns the nodes of the plan that read table.
func (e explained) scansOf(table string) []planNode {
	var scans []planNode
	var walk func(planNode)
	walk = func(n planNode) {
		if n.RelationName == table {
			scans = append(scans, n)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(e.Plan)
	return scans
}

// explain runs statement, as the statement log has it ("driver.Query:
// query=... args=[...]", every argument an integer), under EXPLAIN
// (ANALYZE, BUFFERS).
func explain(t *testing.T, b *testBundle, statement string) explained {
	t.Helper()
	query, args, ok := strings.Cut(strings.TrimPrefix(statement, "driver.Query: query="), " args=[")
	require.True(t, ok, "a statement with arguments: %s", statement)
	var values []any
	for _, a := range strings.Fields(strings.TrimSuffix(args, "]")) {
		v, err := strconv.ParseInt(a, 10, 64)
		require.NoError(t, err, "argument %q of %s", a, statement)
		values = append(values, v)
	}
	var out []byte
	require.NoError(t, b.db.QueryRow("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+query, values...).Scan(&out))
	var plans []explained
	require.NoError(t, json.Unmarshal(out, &plans))
	require.Len(t, plans, 1)
	plans[0].text = string(out)
	return plans[0]
}
