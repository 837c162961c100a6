package ent

// This file is written by hand: the helpers Pulse's collection template
// (template/gql_collection.tmpl) calls to load nested connections.

import (
	"context"
	"database/sql/driver"

	"entgo.io/ent/dialect/sql"
	"github.com/99designs/gqlgen/graphql"
)

// The lateral parent list: the parents' ids, numbered in the order the
// parents were loaded.
const (
	lateralParentTable   = "parent"
	lateralParentID      = "parent_id"
	lateralParentOrdinal = "parent_ordinal"
)

// lateralParent correlates column, a parent id of the rows of a nested
// connection, with the parent of the LATERAL subquery limitPerParent runs.
func lateralParent(s *sql.Selector, column string) *sql.Predicate {
	return sql.ColumnsEQ(column, sql.Dialect(s.Dialect()).Table(lateralParentTable).C(lateralParentID))
}

// limitPerParent returns the modifier that loads a nested connection's
// page of every parent in one statement:
//
//	SELECT page.* FROM unnest(ARRAY[$1, $2, ...]::bigint[]) WITH ORDINALITY AS parent(parent_id, parent_ordinal)
//	CROSS JOIN LATERAL (<page>) AS page ORDER BY parent.parent_ordinal, <order>
//
// where page is one parent's rows, correlated by lateralParent, ordered
// and limited: PostgreSQL reads each parent's first rows through the
// index of its order and stops, instead of numbering every row of every
// parent with ROW_NUMBER() as entgql.LimitPerRow does. The modifier
// replaces the whole statement of the eager-loading query it is added to,
// so that query's own predicates (the parents' ids, again, which would
// make the planner give up the index's order) are left out; page carries
// the connection's filters, cursors and the tenant scope itself.
func limitPerParent(parentIDs []driver.Value, page *sql.Selector, order sql.Querier) func(*sql.Selector) {
	return func(s *sql.Selector) {
		d := sql.Dialect(s.Dialect())
		alias := s.TableName()
		pageTable := d.Table(alias)
		parents := d.Table(lateralParentTable)
		columns := page.UnqualifiedColumns()
		for i, c := range columns {
			columns[i] = pageTable.C(c)
		}
		*s = *d.Select(columns...).
			FromExpr(sql.ExprFunc(func(b *sql.Builder) {
				b.WriteString("unnest(ARRAY[")
				for i, id := range parentIDs {
					if i > 0 {
						b.Comma()
					}
					b.Arg(id)
				}
				b.WriteString("]::bigint[]) WITH ORDINALITY AS ").
					Ident(lateralParentTable).WriteByte('(').IdentComma(lateralParentID, lateralParentOrdinal).
					WriteString(") CROSS JOIN LATERAL (").Join(page).WriteString(") AS ").Ident(alias)
			})).
			OrderExpr(sql.ExprFunc(func(b *sql.Builder) { b.WriteString(parents.C(lateralParentOrdinal)) }), order)
	}
}

// unfiltered reports whether the connection at path has no where argument,
// or an empty one: whether its totalCount may come from a StoredTotal.
func unfiltered(ctx context.Context, path ...string) bool {
	field := collectedField(ctx, path...)
	if field == nil {
		return true
	}
	where := field.ArgumentMap(graphql.GetOperationContext(ctx).Variables)[whereField]
	filter, isMap := where.(map[string]any)
	return where == nil || isMap && len(filter) == 0
}
