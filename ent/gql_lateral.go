package ent

// This file is written by hand: the helpers Pulse's collection template
// (template/gql_collection.tmpl) calls to load nested connections.

import (
	"context"
	"database/sql/driver"
	"sync"

	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqlgraph"
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

// throughPage returns one parent's page of a many-to-many edge, page (the
// target's query, its filters, cursors and tenant scope) read through the
// join table by its primary key, (parentColumn, childColumn):
//
//	SELECT join.parent, target.* FROM join, LATERAL (
//	  SELECT target.* FROM target WHERE <page's predicates> AND target.id = join.child OFFSET 0
//	) AS target WHERE join.parent = <parent> [AND <keyCursors>] ORDER BY <order> LIMIT limit
//
// where parent is parentID, or the LATERAL parent of limitPerParent when
// parentID is nil. The join table's rows of the parent drive the page,
// each target row found by its primary key: OFFSET 0 keeps PostgreSQL
// from flattening the subquery into a join it may drive from the target
// table instead. A LATERAL page is planned once for all its parents, as
// is a cached statement's generic plan for one (internal/database): by
// the rows of an average parent, so that walking the target's primary key
// in id order and matching the join rows looked as cheap as reading them,
// and read the whole target table for a parent with fewer rows than the
// page. Here a parent costs its own rows: by key (byKey: the default
// order, id, which childColumn is; keyCursors are the page's cursors on
// it) the page reads the rows it returns and stops; by another order, the
// parent's rows, sorted.
func throughPage(page *sql.Selector, join, parentColumn, childColumn, idColumn string, parentID driver.Value,
	keyCursors []func(*sql.Selector), byKey, desc bool, order sql.Querier, limit int) *sql.Selector {
	d := sql.Dialect(page.Dialect())
	joinT := d.Table(join)
	alias := page.TableName()
	target := d.Table(alias)
	columns := page.UnqualifiedColumns()
	page.Where(sql.ColumnsEQ(page.C(idColumn), joinT.C(childColumn))).Offset(0)
	s := d.Select(joinT.C(parentColumn)).From(joinT).
		AppendFromExpr(sql.ExprFunc(func(b *sql.Builder) {
			b.WriteString("LATERAL (").Join(page).WriteString(") AS ").Ident(alias)
		}))
	for _, c := range columns {
		s.AppendSelect(target.C(c))
	}
	if parentID != nil {
		s.Where(sql.EQ(joinT.C(parentColumn), parentID))
	} else {
		s.Where(lateralParent(s, joinT.C(parentColumn)))
	}
	for _, p := range keyCursors {
		p(s)
	}
	if byKey {
		key := joinT.C(childColumn)
		order = sql.ExprFunc(func(b *sql.Builder) {
			b.WriteString(key)
			if desc {
				b.WriteString(" DESC")
			} else {
				b.WriteString(" ASC")
			}
		})
	}
	return s.OrderExpr(order).Limit(limit)
}

// onePage returns the modifier that replaces the whole statement of the
// eager-loading query it is added to by page, the page of its one parent
// (see limitPerParent, for many).
func onePage(page *sql.Selector) func(*sql.Selector) {
	return func(s *sql.Selector) { *s = *page }
}

// throughQuery is the query of a many-to-many edge's target, T, that
// loadThrough runs.
type throughQuery[T any] interface {
	Query
	prepareQuery(context.Context) error
	sqlAll(context.Context, ...queryHook) ([]*T, error)
}

// loadThrough loads the pages of a many-to-many edge: query, with the
// statement of throughPage (onePage or limitPerParent), whose first column
// is a row's parent and second its id. add gets each row's parent and
// node in the order of the rows, which is each parent's page order; a node
// in the pages of several parents is loaded once. (The generated
// load<Edge> gives a node to its parents in the order of its first row:
// first in every later parent's page too.) Of one parent, a page has each
// node once.
func loadThrough[T any](ctx context.Context, query throughQuery[T], inters []Interceptor, parents int,
	idOf func(*T) int, add func(parent int, node *T) error) error {
	if err := query.prepareQuery(ctx); err != nil {
		return err
	}
	type row struct{ parent, id int }
	var rows []row
	var seen map[int]struct{}
	if parents > 1 {
		seen = make(map[int]struct{})
	}
	repeated := false
	// Scanned and read row by row: one value for all.
	parent := new(sql.NullInt64)
	qr := QuerierFunc(func(ctx context.Context, _ Query) (Value, error) {
		return query.sqlAll(ctx, func(_ context.Context, spec *sqlgraph.QuerySpec) {
			scan, assign := spec.ScanValues, spec.Assign
			spec.ScanValues = func(columns []string) ([]any, error) {
				values, err := scan(columns)
				if err != nil {
					return nil, err
				}
				values[0] = parent
				return values, nil
			}
			spec.Assign = func(columns []string, values []any) error {
				id := int(values[1].(*sql.NullInt64).Int64)
				rows = append(rows, row{parent: int(parent.Int64), id: id})
				if seen != nil {
					if _, ok := seen[id]; ok {
						repeated = true
						return nil
					}
					seen[id] = struct{}{}
				}
				return assign(columns[1:], values[1:])
			}
		})
	})
	nodes, err := withInterceptors[[]*T](ctx, query, qr, inters)
	if err != nil {
		return err
	}
	if !repeated && len(nodes) == len(rows) { // a node per row, in their order
		for i, r := range rows {
			if err := add(r.parent, nodes[i]); err != nil {
				return err
			}
		}
		return nil
	}
	byID := make(map[int]*T, len(nodes))
	for _, n := range nodes {
		byID[idOf(n)] = n
	}
	for _, r := range rows {
		n, ok := byID[r.id]
		if !ok {
			continue // left out by an interceptor, as by load<Edge>
		}
		if err := add(r.parent, n); err != nil {
			return err
		}
	}
	return nil
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
