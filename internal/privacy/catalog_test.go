package privacy_test

import (
	"database/sql"
	"fmt"
	"strconv"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"
)

// column is a column of a table of the public schema that can hold an id:
// text of any kind, JSON, arrays, bytes, or an integer.
type column struct {
	table, name string
	// kind: "text" (compared as text: strings, JSON, arrays), "bytes" or
	// "integer".
	kind string
}

// catalog lists the columns of every table of the public schema (River's
// included: a job's arguments or errors could name a user too), from
// PostgreSQL's catalog, so a table added later is checked without anyone
// listing it. A partitioned table is read through its parent.
func catalog(t *testing.T, db *sql.DB) []column {
	t.Helper()
	rows, err := db.Query(`
		SELECT c.relname, a.attname, CASE
			WHEN ty.typcategory = 'N' AND ty.typname IN ('int2', 'int4', 'int8', 'numeric') THEN 'integer'
			WHEN ty.typname = 'bytea' THEN 'bytes'
			WHEN ty.typcategory IN ('S', 'A') OR ty.typname IN ('json', 'jsonb', 'uuid') THEN 'text'
			ELSE '' END
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		JOIN pg_type ty ON ty.oid = a.atttypid
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		ORDER BY 1, 2`)
	require.NoError(t, err)
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		require.NoError(t, rows.Scan(&c.table, &c.name, &c.kind))
		if c.kind != "" {
			cols = append(cols, c)
		}
	}
	require.NoError(t, rows.Err())
	require.Greater(t, len(cols), 50, "the catalog lists Pulse's columns")
	return cols
}

// hit is a column holding one of the ids searched for.
type hit struct {
	table, column, id string
	rows              int
}

// findIDs searches every column of the catalog for the strings (as
// substrings of text, JSON and arrays, or bytes) and the integers (equal,
// or as digits in text), and returns where they are.
func findIDs(t *testing.T, db *sql.DB, strings []string, integers []int64) []hit {
	t.Helper()
	texts := append([]string{}, strings...)
	for _, n := range integers {
		texts = append(texts, strconv.FormatInt(n, 10))
	}
	var hits []hit
	for _, c := range catalog(t, db) {
		ident := pq.QuoteIdentifier(c.table) + "." + pq.QuoteIdentifier(c.name)
		var query string
		var needles []any
		switch c.kind {
		case "integer":
			query = fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s::numeric = $1::numeric`, pq.QuoteIdentifier(c.table), ident)
			for _, n := range integers {
				needles = append(needles, n)
			}
		case "bytes":
			query = fmt.Sprintf(`SELECT count(*) FROM %s WHERE position(convert_to($1, 'UTF8') in %s) > 0`, pq.QuoteIdentifier(c.table), ident)
			for _, s := range strings {
				needles = append(needles, s)
			}
		default:
			// Digits are matched as a whole number (\m \M: word bounds), so
			// an id is not found inside a longer one.
			query = fmt.Sprintf(`SELECT count(*) FROM %s WHERE strpos(%s::text, $1) > 0 AND ($1 !~ '^[0-9]+$' OR %s::text ~ ('\m' || $1 || '\M'))`,
				pq.QuoteIdentifier(c.table), ident, ident)
			for _, s := range texts {
				needles = append(needles, s)
			}
		}
		for _, needle := range needles {
			var n int
			require.NoError(t, db.QueryRow(query, needle).Scan(&n), "search %s", ident)
			if n > 0 {
				hits = append(hits, hit{table: c.table, column: c.name, id: fmt.Sprint(needle), rows: n})
			}
		}
	}
	return hits
}

// fingerprint is a digest of a project's rows about a set of users, per
// table: every table with a user_id column (and users, and the history of
// their feedback), each row in full.
func fingerprint(t *testing.T, db *sql.DB, projectID int, userIDs []int64) map[string]string {
	t.Helper()
	rows, err := db.Query(`
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var table string
		require.NoError(t, rows.Scan(&table))
		tables = append(tables, table)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	queries := map[string]string{
		"users":            `SELECT * FROM users t WHERE id = ANY($1) AND project_id = $2`,
		"feedback_changes": `SELECT t.* FROM feedback_changes t JOIN feedbacks f ON f.id = t.feedback_id WHERE f.user_id = ANY($1) AND f.project_id = $2`,
	}
	for _, table := range tables {
		if table == "segment_members" { // no project_id: its users are the project's
			queries[table] = `SELECT * FROM segment_members t WHERE user_id = ANY($1) AND $2::bigint > 0`
			continue
		}
		queries[table] = fmt.Sprintf(`SELECT * FROM %s t WHERE user_id = ANY($1) AND project_id = $2`, pq.QuoteIdentifier(table))
	}
	out := map[string]string{}
	for table, q := range queries {
		var digest, count string
		require.NoError(t, db.QueryRow(`SELECT count(*), COALESCE(md5(string_agg(r::text, '|' ORDER BY r::text)), '') FROM (`+q+`) r`,
			pq.Array(userIDs), projectID).Scan(&count, &digest), "fingerprint %s", table)
		out[table] = count + " " + digest
	}
	return out
}
