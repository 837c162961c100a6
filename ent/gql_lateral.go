package ent

// This file is written by hand: the helpers Pulse's collection template
// (template/gql_collection.tmpl) calls to load nested connections.

import (
	"context"
	"database/sql/driver"
	"sync"

	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// The lateral parent list: the parents' ids, numbered in the order the
// parents were loaded.
const (
	lateralParentTable   = "parent"
	lateralParentID      = "parent_id"
	lateralParentOrdinal = "parent_ordinal"
	lateralTotalTable    = "parent_total"
	lateralTotal         = "pulse_parent_total"
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
//
// When total is not nil (one parent's count of the page's rows without
// its limit), each row also carries its parent's count as lateralTotal,
// read by pageTotal, from a second LATERAL subquery evaluated once per
// parent: the count costs no statement of its own. Only a page with no
// cursor may be counted this way, as a parent then has no row in the page
// only when it has none at all.
func limitPerParent(parentIDs []driver.Value, page *sql.Selector, order sql.Querier, total *sql.Selector) func(*sql.Selector) {
	return func(s *sql.Selector) {
		d := sql.Dialect(s.Dialect())
		alias := s.TableName()
		pageTable := d.Table(alias)
		parents := d.Table(lateralParentTable)
		columns := page.UnqualifiedColumns()
		for i, c := range columns {
			columns[i] = pageTable.C(c)
		}
		if total != nil {
			columns = append(columns, d.Table(lateralTotalTable).C(lateralTotal))
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
					WriteString(")")
				if total != nil {
					b.WriteString(" CROSS JOIN LATERAL (").Join(total).WriteString(") AS ").Ident(lateralTotalTable)
				}
				b.WriteString(" CROSS JOIN LATERAL (").Join(page).WriteString(") AS ").Ident(alias)
			})).
			OrderExpr(sql.ExprFunc(func(b *sql.Builder) { b.WriteString(parents.C(lateralParentOrdinal)) }), order)
	}
}

// pageTotal is the count of its parent's rows a row of a page loaded by
// limitPerParent with a total carries.
func pageTotal(row interface {
	Value(string) (ent.Value, error)
}) int {
	v, err := row.Value(lateralTotal)
	if err != nil {
		return 0
	}
	n, _ := v.(int64)
	return int(n)
}

// setTotal sets the totalCount of the connection at alias in a node's
// totals of one edge.
func setTotal(totals *map[string]int, alias string, n int) {
	if *totals == nil {
		*totals = make(map[string]int)
	}
	(*totals)[alias] = n
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

// nestedPage is what LoadedConnection reads from a nested connection
// field's arguments: the same for every parent of the page.
type nestedPage[A, P any] struct {
	args  A
	pager P
}

type nestedArgsKey struct{}

// nestedArgsCache holds, for one response, each nested connection field's
// nestedPage.
type nestedArgsCache struct {
	mu      sync.Mutex
	byField map[*ast.Field]any
}

// WithNestedArgs gives ctx a cache of the nested connections' arguments,
// read once per field of the response instead of once per parent (a page
// of 20 users read the events' arguments 20 times: about 250
// allocations).
func WithNestedArgs(ctx context.Context) context.Context {
	return context.WithValue(ctx, nestedArgsKey{}, &nestedArgsCache{byField: map[*ast.Field]any{}})
}

// nestedArgsOf returns read's result for field, made once per response
// when ctx has a cache (see WithNestedArgs).
func nestedArgsOf[T any](ctx context.Context, field graphql.CollectedField, read func() (T, error)) (T, error) {
	cache, ok := ctx.Value(nestedArgsKey{}).(*nestedArgsCache)
	if !ok || field.Field == nil {
		return read()
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if v, ok := cache.byField[field.Field]; ok {
		return v.(T), nil
	}
	v, err := read()
	if err != nil {
		return v, err
	}
	cache.byField[field.Field] = v
	return v, nil
}
