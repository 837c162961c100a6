package segment_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// TestCompileJoinsOnlyWhatCanMatch pins the statement's shape: a scan the
// rule cannot hold without is inner-joined and keeps, in its HAVING, only
// the users whose aggregates can still match; a scan that users without
// rows may match through stays a LEFT JOIN with no HAVING; a scan whose
// counts are all of named events reads only those names. The differential
// test checks that every shape returns the reference's members.
func TestCompileJoinsOnlyWhatCanMatch(t *testing.T) {
	t.Parallel()
	env := segment.Env{ProjectID: 1, Now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		name, rule string
		contains   []string
		excludes   []string
	}{
		{
			name:     "an event count",
			rule:     `{"event":{"name":"export","count":{"op":"GTE","value":3},"withinDays":30}}`,
			contains: []string{" JOIN ev ON", "WHERE project_id = $1 AND timestamp >= $4 AND name = ANY($5::text[]) GROUP BY user_id HAVING count(*) FILTER (WHERE e.name = $2) >= $3)"},
			excludes: []string{"LEFT JOIN"},
		},
		{
			name:     "did not",
			rule:     `{"event":{"name":"export","count":{"op":"EQ","value":0}}}`,
			contains: []string{"LEFT JOIN ev ON"},
			excludes: []string{"HAVING"},
		},
		{
			name:     "not",
			rule:     `{"not":{"event":{"name":"export"}}}`,
			contains: []string{"LEFT JOIN ev ON"},
			excludes: []string{"HAVING"},
		},
		{
			name:     "or with a trait",
			rule:     `{"or":[{"event":{"name":"export"}},{"trait":{"key":"plan","op":"EXISTS"}}]}`,
			contains: []string{"LEFT JOIN ev ON"},
			excludes: []string{"HAVING"},
		},
		{
			name: "other leaves relax to true, or to false under not",
			rule: `{"and":[{"trait":{"key":"plan","op":"EXISTS"}},{"or":[{"event":{"name":"a"}},{"and":[{"event":{"name":"b"}},{"not":{"activity":{"activeDays":{"op":"GTE","value":2},"withinDays":7}}}]}]}]}`,
			contains: []string{" JOIN ev ON", "LEFT JOIN act ON",
				"HAVING (count(*) FILTER (WHERE e.name = $3) >= $4) OR (count(*) FILTER (WHERE e.name = $5) >= $6))"},
		},
		{
			name:     "mixed, as the benchmark",
			rule:     `{"and":[{"event":{"name":"export","count":{"op":"GTE","value":2},"withinDays":30}},{"activity":{"activeDays":{"op":"GTE","value":3},"withinDays":28}},{"platform":{"platform":"MOBILE","minShare":0.3,"withinDays":28}}]}`,
			contains: []string{" JOIN ev ON", " JOIN act ON", "count(*) FILTER (WHERE e.name = $2) AS e0", "HAVING count(*) >= $4)"},
			// The platform share counts events of every name.
			excludes: []string{"LEFT JOIN", "name = ANY"},
		},
		{
			name: "window filters only where they differ from the scan's",
			rule: `{"and":[{"event":{"name":"a","withinDays":7}},{"event":{"name":"b","withinDays":30}},{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":7}}]}`,
			contains: []string{"timestamp >= $8 GROUP BY", "count(*) FILTER (WHERE e.timestamp >= $9 AND e.name = $2) AS e0",
				"count(*) FILTER (WHERE e.name = $4) AS e1", "count(*) FILTER (WHERE e.timestamp >= $9) AS e2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := segment.Decode([]byte(tc.rule))
			require.NoError(t, err)
			q, err := segment.Compile(r, env)
			require.NoError(t, err)
			for _, s := range tc.contains {
				require.Contains(t, q.SQL, s)
			}
			for _, s := range tc.excludes {
				require.NotContains(t, q.SQL, s)
			}
		})
	}
}
