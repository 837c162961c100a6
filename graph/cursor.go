package graph

import (
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pulse-analytics/pulse/graph/scalar"
)

// checkCursors reads every Cursor argument of the operation before it runs.
// gqlgen reads a field's arguments only when it resolves the field, but
// entgql's field collection reads a nested connection's after/before while
// its parent resolves, and panics on a cursor the API did not write; read
// first, such a cursor is bad input naming its argument instead. Each
// fragment is walked once, however often it is spread.
func checkCursors(ctx context.Context, opCtx *graphql.OperationContext) error {
	c := cursorCheck{ctx: ctx, vars: opCtx.Variables, doc: opCtx.Doc, walked: map[string]bool{}}
	return c.walk(opCtx.Operation.SelectionSet, make(ast.Path, 0, 16))
}

type cursorCheck struct {
	ctx    context.Context
	vars   map[string]any
	doc    *ast.QueryDocument
	walked map[string]bool
}

func (c cursorCheck) walk(set ast.SelectionSet, path ast.Path) error {
	for _, sel := range set {
		var err error
		switch sel := sel.(type) {
		case *ast.Field:
			err = c.field(sel, path)
		case *ast.InlineFragment:
			err = c.walk(sel.SelectionSet, path)
		case *ast.FragmentSpread:
			if c.walked[sel.Name] {
				continue
			}
			c.walked[sel.Name] = true
			if def := c.doc.Fragments.ForName(sel.Name); def != nil {
				err = c.walk(def.SelectionSet, path)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c cursorCheck) field(f *ast.Field, path ast.Path) error {
	// The path grows in place, as a stack: an error clones it.
	path = append(path, ast.PathName(f.Alias))
	if f.Definition != nil {
		for _, arg := range f.Arguments {
			def := f.Definition.Arguments.ForName(arg.Name)
			if def == nil || def.Type.Elem != nil || def.Type.NamedType != "Cursor" || arg.Value == nil {
				continue
			}
			value, err := arg.Value.Value(c.vars)
			if err != nil || value == nil {
				continue // gqlparser has reported it; a null cursor is none
			}
			argPath := append(slices.Clone(path), ast.PathName(arg.Name))
			ctx := graphql.WithPathContext(c.ctx, graphql.NewPathWithField(arg.Name))
			if _, err := scalar.UnmarshalCursor(ctx, value); err != nil {
				return gqlerror.WrapPath(argPath, err)
			}
		}
	}
	return c.walk(f.SelectionSet, path)
}
