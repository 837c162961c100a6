package graph

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// argumentText refuses an operation any of whose string arguments (inline
// or from variables, at any depth of input objects, lists and JSON
// scalars, map keys included) holds text PostgreSQL cannot store: a NUL
// character, or bytes that are not UTF-8 (possible in a GET query string;
// JSON bodies are decoded with invalid UTF-8 and lone surrogates replaced
// by U+FFFD, which is stored as is). It runs before any resolver, so such
// a request never reaches the database.
type argumentText struct{}

var (
	_ graphql.HandlerExtension        = argumentText{}
	_ graphql.OperationContextMutator = argumentText{}
)

func (argumentText) ExtensionName() string                          { return "ArgumentText" }
func (argumentText) Validate(schema graphql.ExecutableSchema) error { return nil }

func (argumentText) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := textWalker{vars: oc.Variables, seen: map[string]bool{}}
	w.selection(oc.Operation.SelectionSet, make(ast.Path, 0, 16))
	return w.err
}

// textWalker visits every field of an operation once; a fragment spread
// several times is checked once (its arguments are the same everywhere).
type textWalker struct {
	vars map[string]any
	seen map[string]bool
	err  *gqlerror.Error
}

func (w *textWalker) selection(set ast.SelectionSet, path ast.Path) {
	for _, sel := range set {
		if w.err != nil {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			// The path grows in place, as a stack: an error clones it.
			path := append(path, ast.PathName(s.Alias))
			w.arguments(s.Arguments, path, "")
			w.directives(s.Directives, path)
			w.selection(s.SelectionSet, path)
		case *ast.InlineFragment:
			w.directives(s.Directives, path)
			w.selection(s.SelectionSet, path)
		case *ast.FragmentSpread:
			w.directives(s.Directives, path)
			if s.Definition != nil && !w.seen[s.Name] {
				w.seen[s.Name] = true
				w.selection(s.Definition.SelectionSet, path)
			}
		}
	}
}

func (w *textWalker) directives(list ast.DirectiveList, path ast.Path) {
	for _, d := range list {
		w.arguments(d.Arguments, path, "@"+d.Name+".")
	}
}

func (w *textWalker) arguments(args ast.ArgumentList, path ast.Path, prefix string) {
	for _, arg := range args {
		if w.err != nil {
			return
		}
		value, err := arg.Value.Value(w.vars)
		if err != nil {
			continue // validation already answered for a malformed value
		}
		if field, reason := badText(value, prefix+arg.Name); reason != "" {
			w.err = textError(path, field, reason)
		}
	}
}

// badText finds the first string in v (depth first, map keys sorted so
// the answer is stable) that PostgreSQL cannot store, and says where and
// why.
func badText(v any, field string) (string, string) {
	switch x := v.(type) {
	case string:
		return field, textProblem(x)
	case []any:
		for i, item := range x {
			if f, reason := badText(item, field+"["+strconv.Itoa(i)+"]"); reason != "" {
				return f, reason
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if reason := textProblem(k); reason != "" {
				return field, "has a key that " + reason
			}
			if f, reason := badText(x[k], field+"."+k); reason != "" {
				return f, reason
			}
		}
	}
	return "", ""
}

func textProblem(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return `contains a NUL character (\u0000)`
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	return ""
}

func textError(path ast.Path, field, reason string) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    fmt.Sprintf("argument %s %s, which Pulse cannot store", field, reason),
		Path:       slices.Clone(path),
		Extensions: map[string]any{"code": CodeBadUserInput, "field": field},
	}
}
