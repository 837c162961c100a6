package graph_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
)

// TestNestedConnectionSQL pins the SQL shape of every nested connection,
// where TestQueryCount pins only how many statements they take: each
// loads all its parents' pages in one statement of one LATERAL subquery
// per parent, ordered and limited, so PostgreSQL reads each parent's first
// rows and stops; none numbers every row of every parent with ROW_NUMBER().
func TestNestedConnectionSQL(t *testing.T) {
	t.Parallel()
	b := setupCounting(t)
	s := seed(t, b, b.project, "sql", 6)
	_, err := b.client.SegmentRun.Create().SetSegmentID(s.Segment.ID).
		SetTrigger(segmentrun.TriggerMANUAL).SetStatus(segmentrun.StatusCOMPLETED).SetSeq(2).Save(b.project.ctx)
	require.NoError(t, err)

	// page is one parent's page of a nested connection: its rows
	// (from, a regexp), correlated with the parent, ordered, and limited
	// to one more row than asked for (hasNextPage).
	type page struct {
		from  string
		limit int
	}
	tests := []struct {
		name  string
		query string
		// pages are the nested connections' statements (which may run
		// in any order).
		pages []page
	}{
		{"user.events", `{ users(first: 20) { edges { node { events(first: 5) { totalCount edges { node { name } } } } } } }`,
			[]page{{`"events"`, 6}}},
		{"segment.members and segment.runs", `{ segments(first: 5) { edges { node {
			members(first: 10) { edges { node { externalId } } } runs(first: 5) { edges { node { seq } } } } } } }`,
			[]page{{throughKey("users", "user_id"), 11}, {`"segment_runs"`, 6}}},
		{"user.feedback", `{ users(first: 20) { edges { node { feedback(first: 5) { edges { node { text } } } } } } }`,
			[]page{{`"feedbacks"`, 6}}},
		{"user.segments", `{ users(first: 20) { edges { node { segments(first: 3) { edges { node { name } } } } } } }`,
			[]page{{throughKey("segments", "segment_id"), 4}}},
		{"run.entered and run.exited", `{ segments(first: 5) { edges { node { runs(first: 5) { edges { node {
			entered(first: 2) { edges { node { externalId } } } exited(first: 2) { edges { node { id } } } } } } } } } }`,
			[]page{
				{`"segment_runs"`, 6},
				{`"users" JOIN "segment_memberships" AS "moved" ON [^()]*"moved"\."exited_run_id"`, 3},
				{`"users" JOIN "segment_memberships" AS "moved" ON [^()]*"moved"\."entered_run_id"`, 3},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the statement log is the bundle's.
			statements := b.statements.record(func() {
				status, res := b.do(t, b.project.Read, tt.query, nil)
				require.Equal(t, 200, status)
				require.Empty(t, res.Errors)
			})
			var nested []string
			for _, st := range statements {
				require.NotContains(t, strings.ToUpper(st), "ROW_NUMBER", "a nested connection numbers every row of every parent")
				if strings.Contains(st, "unnest(ARRAY[") {
					nested = append(nested, st)
				}
			}
			require.Len(t, nested, len(tt.pages), "statements over the parents: %q", nested)
			for _, p := range tt.pages {
				perParent := regexp.MustCompile(`FROM unnest\(ARRAY\[[^\]]*\]::bigint\[\]\)( WITH ORDINALITY)? AS "parent"\(.*` +
					`CROSS JOIN LATERAL \(SELECT [^()]* FROM ` + p.from + `[^()]* = "parent"\."parent_id" ORDER BY [^()]* LIMIT (\d+)\) AS `)
				var limits []string
				for _, st := range nested {
					if m := perParent.FindStringSubmatch(st); m != nil {
						limits = append(limits, m[2])
					}
				}
				require.Equal(t, []string{strconv.Itoa(p.limit)}, limits, "the LATERAL pages per parent of %s, by their limit, among %q", p.from, nested)
			}
		})
	}
}

// throughKey is the rows of a page of a many-to-many edge through
// segment_members (ent/gql_lateral.go's throughPage): the parent's rows of
// the join table, each row of table looked up by its id, column.
func throughKey(table, column string) string {
	return `"segment_members", LATERAL \(SELECT [^()]* FROM "` + table + `" [^()]*"` + table + `"\."id" = "segment_members"\."` +
		column + `" OFFSET 0\) AS "` + table + `"`
}
