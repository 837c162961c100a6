package graph_test

import (
	"context"
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

// index is the index a scan reads: its own, or a bitmap scan's.
func (n planNode) index() string {
	if n.NodeType == "Bitmap Heap Scan" && len(n.Plans) == 1 {
		return n.Plans[0].IndexName
	}
	return n.IndexName
}

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
	query, values := statementOf(t, statement)
	var out []byte
	require.NoError(t, b.db.QueryRow("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+query, values...).Scan(&out))
	return explainedOf(t, out)
}

// explainGeneric is explain of the generic plan of statement, prepared,
// which PostgreSQL plans without its arguments' values (by the average
// row): the plan the API's cached statements (internal/database's
// cachingConnector) switch to after five runs.
func explainGeneric(t *testing.T, b *testBundle, statement string) explained {
	t.Helper()
	query, values := statementOf(t, statement)
	conn, err := b.db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	_, err = conn.ExecContext(ctx, "PREPARE pulse_plan AS "+query)
	require.NoError(t, err)
	defer conn.ExecContext(ctx, "DEALLOCATE pulse_plan; RESET plan_cache_mode") //nolint:errcheck // the connection's session only
	_, err = conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	placeholders := make([]string, len(values))
	for i, v := range values {
		placeholders[i] = fmt.Sprint(v)
	}
	var out []byte
	require.NoError(t, conn.QueryRowContext(ctx,
		"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE pulse_plan("+strings.Join(placeholders, ", ")+")").Scan(&out))
	return explainedOf(t, out)
}

// statementOf returns the query and arguments of statement, as the
// statement log has it.
func statementOf(t *testing.T, statement string) (string, []any) {
	t.Helper()
	query, args, ok := strings.Cut(strings.TrimPrefix(statement, "driver.Query: query="), " args=[")
	require.True(t, ok, "a statement with arguments: %s", statement)
	var values []any
	for _, a := range strings.Fields(strings.TrimSuffix(args, "]")) {
		v, err := strconv.ParseInt(a, 10, 64)
		require.NoError(t, err, "argument %q of %s", a, statement)
		values = append(values, v)
	}
	return query, values
}

func explainedOf(t *testing.T, out []byte) explained {
	t.Helper()
	var plans []explained
	require.NoError(t, json.Unmarshal(out, &plans))
	require.Len(t, plans, 1)
	plans[0].text = string(out)
	return plans[0]
}

// TestMemberPagePlans holds the pages of segment.members to the primary
// key of segment_members, (segment_id, user_id): a new segment and a small
// one, among segments of thousands of members, read only the rows they
// return, in the plain form of one parent and the LATERAL form of many, by
// id (the key's order: the page stops at its last row) and by another
// order (the segment's few members, sorted), planned with the arguments'
// values and generically, as a cached statement is. Driven from users, as
// the join was before throughPage (ent/gql_lateral.go), PostgreSQL walked
// the users in id order and matched the memberships, planned for a segment
// of average size: every user read for a segment with fewer members than
// the page.
func TestMemberPagePlans(t *testing.T) {
	t.Parallel()
	b := setupCounting(t)
	p := b.project.ID
	// 12,000 users; 30 segments of 2,000 members each (by user id modulo
	// 6), a new segment of none and a small one of the 3 newest users: for
	// a walk in id order, the last.
	for _, stmt := range []string{
		`INSERT INTO users (project_id, external_id, created_at, updated_at, event_count)
		 SELECT $1, 'member ' || i, now(), now(), i % 7 FROM generate_series(1, 12000) i`,
		`INSERT INTO segments (project_id, name, created_at, updated_at)
		 SELECT $1, 'members ' || i, now(), now() FROM generate_series(1, 32) i`,
		`INSERT INTO segment_members (segment_id, user_id, entered_at)
		 SELECT s.ids[k], u.id, now()
		 FROM (SELECT array_agg(id ORDER BY id) ids FROM segments WHERE project_id = $1) s,
		      generate_series(1, 30) k, users u
		 WHERE u.project_id = $1 AND u.id % 6 = k % 6`,
		`INSERT INTO segment_members (segment_id, user_id, entered_at)
		 SELECT s.ids[32], u.id, now()
		 FROM (SELECT array_agg(id ORDER BY id) ids FROM segments WHERE project_id = $1) s,
		      (SELECT id FROM users WHERE project_id = $1 ORDER BY id DESC LIMIT 3) u`,
		`UPDATE segments s SET size = (SELECT count(*) FROM segment_members m WHERE m.segment_id = s.id) WHERE project_id = $1`,
	} {
		_, err := b.db.Exec(stmt, p)
		require.NoError(t, err)
	}
	// As autovacuum leaves them: the key's pages all visible, for an
	// index-only scan.
	_, err := b.db.Exec(`VACUUM ANALYZE segments, segment_members, users`)
	require.NoError(t, err)
	var newSegment, smallSegment int
	require.NoError(t, b.db.QueryRow(`SELECT id FROM segments WHERE project_id = $1 AND name = 'members 31'`, p).Scan(&newSegment))
	require.NoError(t, b.db.QueryRow(`SELECT id FROM segments WHERE project_id = $1 AND name = 'members 32'`, p).Scan(&smallSegment))

	const byEvents = `, orderBy: [{field: EVENT_COUNT, direction: DESC}]`
	one := func(segment int, args string) string {
		return fmt.Sprintf(`{ node(id: %q) { ... on Segment { members(%s) { totalCount edges { node { id } } } } } }`, gid(segment), args)
	}
	// The new and the small segment, of the segments' list: a page by
	// another order than id sorts its segments' members, thousands for the
	// others.
	const newest = `{ segments(first: 5, where: {sizeLT: 10}) { edges { node { members(%s) { edges { node { id } } } } } } }`
	tests := []struct {
		name, query string
		parents     int
	}{
		{"a new segment", one(newSegment, "first: 100"), 1},
		{"a small segment", one(smallSegment, "first: 100"), 1},
		{"a small segment's last page", one(smallSegment, "last: 2"), 1},
		{"a new segment by event count", one(newSegment, "first: 100"+byEvents), 1},
		{"a small segment by event count", one(smallSegment, "first: 100"+byEvents), 1},
		{"a small segment's last page by event count", one(smallSegment, "last: 2"+byEvents), 1},
		{"every segment", `{ segments(first: 40) { edges { node { members(first: 5) { edges { node { id } } } } } } }`, 32},
		{"every segment's last page", `{ segments(first: 40) { edges { node { members(last: 5) { edges { node { id } } } } } } }`, 32},
		{"the new and the small segment", fmt.Sprintf(newest, "first: 5"), 2},
		{"the new and the small segment by event count", fmt.Sprintf(newest, "first: 5"+byEvents), 2},
		{"the new and the small segment's last pages by event count", fmt.Sprintf(newest, "last: 5"+byEvents), 2},
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
				if strings.Contains(st, `"segment_members"`) {
					page = append(page, st)
				}
			}
			require.Len(t, page, 1, "the statement of the pages among %q", statements)
			for _, plan := range []explained{explain(t, b, page[0]), explainGeneric(t, b, page[0])} {
				scans := plan.scansOf("segment_members")
				require.NotEmpty(t, scans, "no scan of segment_members in %s", plan.text)
				for _, s := range scans {
					require.Equal(t, "segment_members_pkey", s.index(), "the scan of segment_members in %s", plan.text)
					require.Zero(t, s.RowsRemovedByFilter, "members of other segments read in %s", plan.text)
				}
				for _, s := range plan.scansOf("users") {
					require.Equal(t, "users_pkey", s.index(), "the scan of users in %s", plan.text)
					require.Zero(t, s.RowsRemovedByFilter, "users read and dropped in %s", plan.text)
				}
				// Per row returned (6 a parent, hasNextPage's included),
				// a page of users' primary key and one of their heap, and
				// the segment's page of the key; the users alone are about
				// 150 pages.
				require.LessOrEqual(t, plan.Plan.buffers(), 3+15*tt.parents, "buffers read: %s", plan.text)
			}
		})
	}
}
