package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits bound what one GraphQL operation may ask for.
type Limits struct {
	// MaxDepth is the deepest field nesting allowed (introspection excluded).
	MaxDepth int
	// MaxComplexity bounds the estimated number of fields resolved: every
	// field costs 1, and a connection's selection counts once per requested
	// item (its first or last argument).
	MaxComplexity int
	// MaxPageSize bounds first and last on every connection. A connection
	// whose items are selected must say first or last: Pulse never truncates
	// a list silently.
	MaxPageSize int
}

// DefaultLimits are generous for dashboards and tight enough that one
// request cannot ask for millions of rows.
var DefaultLimits = Limits{MaxDepth: 12, MaxComplexity: 50_000, MaxPageSize: 1000}

// queryLimits enforces Limits before an operation executes.
type queryLimits struct{ Limits }

var (
	_ graphql.HandlerExtension        = queryLimits{}
	_ graphql.OperationContextMutator = queryLimits{}
)

func (queryLimits) ExtensionName() string                          { return "QueryLimits" }
func (queryLimits) Validate(schema graphql.ExecutableSchema) error { return nil }

// MutateOperationContext measures the operation and refuses it when it is
// over a limit, before any resolver runs.
func (l queryLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	m := measurer{limits: l.Limits, vars: oc.Variables}
	cost := m.selection(oc.Operation.SelectionSet, 1, ast.Path{})
	if m.err != nil {
		return m.err
	}
	if cost > l.MaxComplexity {
		return limitError(nil, "query complexity %d exceeds the limit of %d: ask for fewer items (smaller first/last) or fewer fields", cost, l.MaxComplexity)
	}
	return nil
}

type measurer struct {
	limits Limits
	vars   map[string]any
	err    *gqlerror.Error
}

func (m *measurer) selection(set ast.SelectionSet, depth int, path ast.Path) int {
	cost := 0
	for _, sel := range set {
		if m.err != nil {
			return cost
		}
		switch s := sel.(type) {
		case *ast.Field:
			cost += m.field(s, depth, append(path[:len(path):len(path)], ast.PathName(s.Alias)))
		case *ast.InlineFragment:
			cost += m.selection(s.SelectionSet, depth, path)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				cost += m.selection(s.Definition.SelectionSet, depth, path)
			}
		}
	}
	return cost
}

func (m *measurer) field(f *ast.Field, depth int, path ast.Path) int {
	if strings.HasPrefix(f.Name, "__") {
		return 1 // introspection is bounded by the schema itself
	}
	if depth > m.limits.MaxDepth {
		m.err = limitError(path, "query depth exceeds the limit of %d", m.limits.MaxDepth)
		return 0
	}
	multiplier := 1
	if f.Definition != nil && strings.HasSuffix(f.Definition.Type.Name(), "Connection") {
		multiplier = m.pageSize(f, path)
	}
	if f.Definition != nil && f.Name == "nodes" && f.Definition.Type.Elem != nil {
		if ids, ok := f.ArgumentMap(m.vars)["ids"].([]any); ok {
			multiplier = max(len(ids), 1)
		}
	}
	return 1 + multiplier*m.selection(f.SelectionSet, depth+1, path)
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
		if selectsItems(f.SelectionSet) {
			m.err = limitError(path, "set first or last (at most %d) to list %s", m.limits.MaxPageSize, f.Name)
		}
		return 1
	}
	return max(size, 1)
}

// selectsItems reports whether a connection selection reads edges or nodes
// (totalCount and pageInfo alone need no page).
func selectsItems(set ast.SelectionSet) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "edges" || s.Name == "nodes" {
				return true
			}
		case *ast.InlineFragment:
			if selectsItems(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && selectsItems(s.Definition.SelectionSet) {
				return true
			}
		}
	}
	return false
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
		Path:       path,
		Extensions: map[string]any{"code": CodeBadUserInput, "limit": true},
	}
}
