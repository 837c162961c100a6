package scalar

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// MarshalID writes an ent global id as the ID scalar: its decimal digits in
// a string, as gqlgen's IntID does.
func MarshalID(id int) graphql.ContextMarshaler {
	return graphql.ContextWriterFunc(func(_ context.Context, w io.Writer) error {
		graphql.MarshalIntID(id).MarshalGQL(w)
		return nil
	})
}

// UnmarshalID reads the ID scalar: the decimal digits of an ent global id,
// as a string (or, as GraphQL allows, an integer). Anything else ("ann",
// "1.5", "-3", " 7") is bad input naming the argument it was given for,
// never an internal error: ids are typed by clients and copied by hand.
func UnmarshalID(ctx context.Context, v any) (int, error) {
	id, ok := parseID(v)
	if !ok {
		return 0, invalid.Field(InputPath(ctx), "an ID is a number as the API returns it, such as \"47244640257\"; got %s", describe(v))
	}
	return id, nil
}

func parseID(v any) (int, bool) {
	var digits string
	switch v := v.(type) {
	case string:
		digits = v
	case json.Number:
		digits = string(v)
	case int:
		return v, v >= 0
	case int64:
		return int(v), v >= 0
	default:
		return 0, false
	}
	id, err := strconv.Atoi(digits)
	// Only the canonical spelling: "+7", "007" and "-7" are not ids the API
	// returned, and accepting them would make two spellings of one id.
	if err != nil || id < 0 || strconv.Itoa(id) != digits {
		return 0, false
	}
	return id, true
}

// describe renders a rejected input value for an error message, cut short:
// the message must not echo a megabyte back.
func describe(v any) string {
	const limit = 40
	s, isString := v.(string)
	if !isString {
		s = fmt.Sprint(v)
	}
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	if isString {
		return strconv.Quote(s)
	}
	return s
}

// InputPath is the path of the input value being read, relative to the
// field whose arguments hold it, in the form invalid.Error uses: "id",
// "ids[2]", "input.answers[0].questionId". gqlgen keeps the path while it
// reads arguments; the field's own path is its prefix.
func InputPath(ctx context.Context) string {
	path := graphql.GetPath(ctx)
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		if prefix := fc.Path(); len(prefix) <= len(path) {
			path = path[len(prefix):]
		}
	}
	return FormatPath(path)
}

// FormatPath writes an input path in the form invalid.Error uses:
// names joined by dots, list indexes in brackets.
func FormatPath(path ast.Path) string {
	var b strings.Builder
	for _, elem := range path {
		switch elem := elem.(type) {
		case ast.PathIndex:
			fmt.Fprintf(&b, "[%d]", int(elem))
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(elem))
		}
	}
	return b.String()
}

// MarshalCursor writes a connection cursor as entgql does.
func MarshalCursor(c entgql.Cursor[int]) graphql.ContextMarshaler {
	return graphql.ContextWriterFunc(func(_ context.Context, w io.Writer) error {
		c.MarshalGQL(w)
		return nil
	})
}

// UnmarshalCursor reads a connection cursor as entgql does, but a cursor
// the API did not write ("after: \"zzz\"") is bad input naming the
// argument, like a malformed ID, rather than an internal error.
func UnmarshalCursor(ctx context.Context, v any) (entgql.Cursor[int], error) {
	var c entgql.Cursor[int]
	if err := c.UnmarshalGQL(v); err != nil {
		return c, invalid.Field(InputPath(ctx), "a cursor is an edge's cursor or a pageInfo cursor as the API returns it; got %s", describe(v))
	}
	return c, nil
}
