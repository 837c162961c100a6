package graph

import (
	"context"
	"fmt"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits bound what one GraphQL operation may ask for. A zero field takes
// its value from DefaultLimits.
type Limits struct {
	// MaxDepth is the deepest field nesting allowed (introspection excluded).
	MaxDepth int
	// MaxComplexity bounds the estimated cost of an operation: every field
	// costs 1 (expensive fields more, see fieldCosts), and a connection's
	// selection counts once per requested item (its first or last argument).
	MaxComplexity int
	// MaxPageSize bounds first and last on every connection. A connection
	// whose items are selected must say first or last: Pulse never truncates
	// a list silently.
	MaxPageSize int

	// The document limits below are checked on the parsed document before
	// gqlparser validates it: validation (overlapping fields in particular)
	// grows with the square of the selections, and runs for requests
	// without a key too.

	// MaxTokens bounds the lexical tokens of a document.
	MaxTokens int
	// MaxSelections bounds the fields (aliases included), fragment spreads
	// and inline fragments written in a document.
	MaxSelections int
	// MaxFragments bounds the fragment definitions of a document.
	MaxFragments int
}

// DefaultLimits are generous for dashboards and tight enough that one
// request cannot ask for millions of rows, nor make validation expensive.
var DefaultLimits = Limits{
	MaxDepth: 12, MaxComplexity: 50_000, MaxPageSize: 1000,
	MaxTokens: 10_000, MaxSelections: 1000, MaxFragments: 100,
}

// withDefaults fills every zero limit from DefaultLimits.
func (l Limits) withDefaults() Limits {
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&l.MaxDepth, DefaultLimits.MaxDepth)
	fill(&l.MaxComplexity, DefaultLimits.MaxComplexity)
	fill(&l.MaxPageSize, DefaultLimits.MaxPageSize)
	fill(&l.MaxTokens, DefaultLimits.MaxTokens)
	fill(&l.MaxSelections, DefaultLimits.MaxSelections)
	fill(&l.MaxFragments, DefaultLimits.MaxFragments)
	return l
}

// queryLimits enforces Limits: the document's size before it is validated
// (MutateOperationParameters), its depth and cost before any resolver runs
// (MutateOperationContext).
type queryLimits struct {
	Limits
	// cache is gqlgen's cache of validated documents: a document found
	// there passed the document limits before.
	cache graphql.Cache[*ast.QueryDocument]
}

var (
	_ graphql.HandlerExtension          = queryLimits{}
	_ graphql.OperationParameterMutator = queryLimits{}
	_ graphql.OperationContextMutator   = queryLimits{}
)

func (queryLimits) ExtensionName() string                          { return "QueryLimits" }
func (queryLimits) Validate(schema graphql.ExecutableSchema) error { return nil }

// MutateOperationContext measures the operation and refuses it when it is
// over a limit, before any resolver runs.
func (l queryLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	m := measurer{limits: l.Limits, vars: oc.Variables, fragments: map[fragmentAtDepth]int{}}
	cost := m.selection(oc.Operation.SelectionSet, 1, make(ast.Path, 0, 16))
	if m.err != nil {
		return m.err
	}
	if cost > l.MaxComplexity {
		return m.complexityError(nil)
	}
	return nil
}

// measurer computes the depth and cost of an operation. A fragment's cost
// at a depth is computed once (fragmentAtDepth), so fragments that spread
// others several times cost linear work, not exponential; and the walk
// stops at the first limit passed.
type measurer struct {
	limits    Limits
	vars      map[string]any
	fragments map[fragmentAtDepth]int
	items     map[string]bool // selectsItems of a fragment, by name
	err       *gqlerror.Error
}

type fragmentAtDepth struct {
	name  string
	depth int
}

func (m *measurer) selection(set ast.SelectionSet, depth int, path ast.Path) int {
	cost := 0
	for _, sel := range set {
		if m.err != nil {
			return cost
		}
		switch s := sel.(type) {
		case *ast.Field:
			// The path grows in place, as a stack: an error clones it.
			cost += m.field(s, depth, append(path, ast.PathName(s.Alias)))
		case *ast.InlineFragment:
			cost += m.selection(s.SelectionSet, depth, path)
		case *ast.FragmentSpread:
			cost += m.spread(s, depth, path)
		}
		cost = m.bound(cost, path)
	}
	return cost
}

func (m *measurer) spread(s *ast.FragmentSpread, depth int, path ast.Path) int {
	if s.Definition == nil {
		return 0
	}
	key := fragmentAtDepth{s.Name, depth}
	if cost, ok := m.fragments[key]; ok {
		return cost
	}
	cost := m.selection(s.Definition.SelectionSet, depth, path)
	m.fragments[key] = cost
	return cost
}

func (m *measurer) field(f *ast.Field, depth int, path ast.Path) int {
	if isIntrospection(f.Name) {
		return 1 // introspection is bounded by the schema itself
	}
	if depth > m.limits.MaxDepth {
		m.err = limitError(path, "query depth exceeds the limit of %d", m.limits.MaxDepth)
		return 0
	}
	multiplier := 1
	if f.Definition != nil && isConnection(f.Definition.Type) {
		multiplier = m.pageSize(f, path)
	}
	if f.Definition != nil && f.Name == "nodes" && f.Definition.Type.Elem != nil {
		if ids, ok := f.ArgumentMap(m.vars)["ids"].([]any); ok {
			multiplier = max(len(ids), 1)
		}
	}
	if m.err != nil {
		return 0
	}
	children := m.selection(f.SelectionSet, depth+1, path)
	return m.bound(fieldCost(f)+multiplier*children, path)
}

// bound stops the walk once cost passes the limit; the cost it returns
// never exceeds the limit by more than one, so products cannot overflow.
func (m *measurer) bound(cost int, path ast.Path) int {
	if cost <= m.limits.MaxComplexity {
		return cost
	}
	if m.err == nil {
		m.err = m.complexityError(path)
	}
	return m.limits.MaxComplexity + 1
}

func (m *measurer) complexityError(path ast.Path) *gqlerror.Error {
	return limitError(path, "query complexity exceeds the limit of %d: ask for fewer items (smaller first/last), fewer fields or fewer expensive fields (previews, explanations, analytics)", m.limits.MaxComplexity)
}

// pageSize is first or last of a connection field, checked against the limit.
func (m *measurer) pageSize(f *ast.Field, path ast.Path) int {
	args := f.ArgumentMap(m.vars)
	size, given := 0, false
	for _, name := range []string{"first", "last"} {
		n, ok := asInt(args[name])
		if !ok {
			continue
		}
		given = true
		if n > m.limits.MaxPageSize {
			m.err = limitError(path, "%s is %d; the largest page is %d: paginate with after/before", name, n, m.limits.MaxPageSize)
			return 0
		}
		size = max(size, n)
	}
	if !given {
		if m.selectsItems(f.SelectionSet) {
			m.err = limitError(path, "set first or last (at most %d) to list %s", m.limits.MaxPageSize, f.Name)
		}
		return 1
	}
	return max(size, 1)
}

// selectsItems reports whether a connection selection reads edges or nodes
// (totalCount and pageInfo alone need no page).
func (m *measurer) selectsItems(set ast.SelectionSet) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "edges" || s.Name == "nodes" {
				return true
			}
		case *ast.InlineFragment:
			if m.selectsItems(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && m.fragmentSelectsItems(s.Definition) {
				return true
			}
		}
	}
	return false
}

func (m *measurer) fragmentSelectsItems(def *ast.FragmentDefinition) bool {
	if m.items == nil {
		m.items = map[string]bool{}
	}
	if selects, ok := m.items[def.Name]; ok {
		return selects
	}
	selects := m.selectsItems(def.SelectionSet)
	m.items[def.Name] = selects
	return selects
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	case interface{ Int64() (int64, error) }:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

func limitError(path ast.Path, format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    fmt.Sprintf(format, args...),
		Path:       slices.Clone(path),
		Extensions: map[string]any{"code": CodeBadUserInput, "limit": true},
	}
}
