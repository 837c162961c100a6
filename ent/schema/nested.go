package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/index"
)

// nestedOrderIndex is the index of a nested connection's default order,
// id, among the rows of one parent (through the foreign key fk), so that
// a page reads only the rows it returns (ent/gql_lateral.go). Without it,
// PostgreSQL walks the primary key and filters: a parent with fewer rows
// than the page, a new segment's runs, reads the whole table.
//
// project_id leads, as every page query fixes it (the tenant scope): it
// is then an index condition rather than a filter, and it is what makes
// the planner choose the index over the primary key. The planner costs
// an index's heap reads by how its first column follows the table's
// order; on (fk, id), for rows of many parents written interleaved, that
// says random reads, and walking the primary key, which follows the
// table, looked as cheap for the rows of an average parent (a LATERAL
// page is planned once for all its parents). graph/plan_test.go holds the
// plans to this index.
func nestedOrderIndex(fk string) ent.Index {
	return index.Fields("project_id", fk, "id")
}
