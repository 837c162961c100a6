package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pulse-analytics/pulse/graph/scalar"
)

var (
	marshalerType = reflect.TypeFor[graphql.Marshaler]()
	timeType      = reflect.TypeFor[time.Time]()
	cursorType    = reflect.TypeFor[entgql.Cursor[int]]()
	mapType       = reflect.TypeFor[map[string]any]()
	rawType       = reflect.TypeFor[json.RawMessage]()
)

// scalarWriter writes a scalar value and reports whether it was not null.
type scalarWriter func(ctx context.Context, w *bytes.Buffer, v reflect.Value) bool

// scalarWriter returns how to write a value of Go type t in a field of
// GraphQL type gt: the commonest scalars directly, with no marshaler to
// allocate (the bytes are those of the marshalers scalarMarshaler names,
// which TestPlainListsAsGqlgen holds them to), the rest through their
// marshaler. Nil for a type not handled here.
func (p *plainLists) scalarWriter(gt *ast.Type, t reflect.Type) scalarWriter {
	if gt.Elem == nil {
		nullable := t.Kind() == reflect.Pointer && !gt.NonNull
		base := t
		if nullable {
			base = t.Elem()
		}
		if direct := directWriter(gt.NamedType, base); direct != nil {
			if !nullable {
				return direct
			}
			return func(ctx context.Context, w *bytes.Buffer, v reflect.Value) bool {
				if v.IsNil() {
					w.WriteString("null")
					return false
				}
				return direct(ctx, w, v.Elem())
			}
		}
	}
	marshal := p.scalarMarshaler(gt, t)
	if marshal == nil {
		return nil
	}
	return func(ctx context.Context, w *bytes.Buffer, v reflect.Value) bool {
		m := marshal(ctx, v)
		m.MarshalGQL(w)
		return m != graphql.Null
	}
}

// directWriter writes the scalars most lists hold as gqlgen's marshalers
// do: graphql.MarshalString, scalar.MarshalID (a quoted decimal),
// graphql.MarshalInt and MarshalInt64, MarshalBoolean, scalar.MarshalTime
// (quoted RFC 3339 with nanoseconds, null when zero) and
// scalar.MarshalRawMessage.
func directWriter(scalarName string, t reflect.Type) scalarWriter {
	unnamed := t.PkgPath() == ""
	switch {
	case scalarName == "String" && t.Kind() == reflect.String && unnamed:
		return func(_ context.Context, w *bytes.Buffer, v reflect.Value) bool {
			writeQuoted(w, v.String())
			return true
		}
	case scalarName == "ID" && t.Kind() == reflect.Int && unnamed:
		return func(_ context.Context, w *bytes.Buffer, v reflect.Value) bool {
			w.WriteByte('"')
			w.Write(strconv.AppendInt(w.AvailableBuffer(), v.Int(), 10))
			w.WriteByte('"')
			return true
		}
	case scalarName == "Int" && (t.Kind() == reflect.Int || t.Kind() == reflect.Int64) && unnamed:
		return func(_ context.Context, w *bytes.Buffer, v reflect.Value) bool {
			w.Write(strconv.AppendInt(w.AvailableBuffer(), v.Int(), 10))
			return true
		}
	case scalarName == "Boolean" && t.Kind() == reflect.Bool && unnamed:
		return func(_ context.Context, w *bytes.Buffer, v reflect.Value) bool {
			w.Write(strconv.AppendBool(w.AvailableBuffer(), v.Bool()))
			return true
		}
	case scalarName == "Time" && t == timeType:
		return func(_ context.Context, w *bytes.Buffer, v reflect.Value) bool {
			at := v.Interface().(time.Time)
			if at.IsZero() {
				w.WriteString("null")
				return false
			}
			w.WriteByte('"')
			w.Write(at.AppendFormat(w.AvailableBuffer(), time.RFC3339Nano))
			w.WriteByte('"')
			return true
		}
	case scalarName == "JSON" && t == rawType:
		return func(_ context.Context, w *bytes.Buffer, v reflect.Value) bool {
			if v.Len() == 0 {
				w.WriteString("null")
				return false
			}
			w.Write(v.Bytes())
			return true
		}
	}
	return nil
}

// writeQuoted writes s as gqlgen's MarshalString does.
func writeQuoted(w *bytes.Buffer, s string) {
	const hex = "0123456789ABCDEF"
	start := 0
	w.WriteByte('"')
	for i, c := range s {
		if c < 0x20 || c == '\\' || c == '"' {
			w.WriteString(s[start:i])
			switch c {
			case '\t':
				w.WriteString(`\t`)
			case '\r':
				w.WriteString(`\r`)
			case '\n':
				w.WriteString(`\n`)
			case '\\':
				w.WriteString(`\\`)
			case '"':
				w.WriteString(`\"`)
			default:
				w.WriteString(`\u00`)
				w.WriteByte(hex[c>>4])
				w.WriteByte(hex[c&0xf])
			}
			start = i + 1
		}
	}
	w.WriteString(s[start:])
	w.WriteByte('"')
}

// scalarMarshaler returns the marshaler gqlgen's generated code uses for a
// value of Go type t in a field of GraphQL type gt, or nil for a type not
// handled here (a list of objects, Date, Float, a JSON of another Go type).
func (p *plainLists) scalarMarshaler(gt *ast.Type, t reflect.Type) func(context.Context, reflect.Value) graphql.Marshaler {
	if gt.Elem != nil {
		if t.Kind() != reflect.Slice {
			return nil
		}
		elem := p.scalarMarshaler(gt.Elem, t.Elem())
		if elem == nil {
			return nil
		}
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler {
			if v.IsNil() && !gt.NonNull {
				return graphql.Null
			}
			list := make(graphql.Array, v.Len())
			for i := range list {
				list[i] = elem(ctx, v.Index(i))
			}
			return list
		}
	}
	if t.Kind() == reflect.Pointer {
		if gt.NonNull {
			return nil
		}
		elem := p.scalarMarshaler(&ast.Type{NamedType: gt.NamedType, NonNull: true}, t.Elem())
		if elem == nil {
			return nil
		}
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler {
			if v.IsNil() {
				return graphql.Null
			}
			return elem(ctx, v.Elem())
		}
	}
	if def := p.schema.Types[gt.NamedType]; def != nil && def.Kind == ast.Enum {
		if !t.Implements(marshalerType) {
			return nil
		}
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler { return v.Interface().(graphql.Marshaler) }
	}
	switch {
	case gt.NamedType == "ID" && t.Kind() == reflect.Int:
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler {
			return graphql.WrapContextMarshaler(ctx, scalar.MarshalID(int(v.Int())))
		}
	case gt.NamedType == "Time" && t == timeType:
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler {
			return graphql.WrapContextMarshaler(ctx, scalar.MarshalTime(v.Interface().(time.Time)))
		}
	case gt.NamedType == "Cursor" && t == cursorType:
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler {
			return graphql.WrapContextMarshaler(ctx, scalar.MarshalCursor(v.Interface().(entgql.Cursor[int])))
		}
	case gt.NamedType == "JSON" && t == mapType:
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler {
			if v.IsNil() {
				return graphql.Null
			}
			return graphql.MarshalMap(v.Interface().(map[string]any))
		}
	case gt.NamedType == "JSON" && t == rawType:
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler {
			if v.IsNil() {
				return graphql.Null
			}
			return scalar.MarshalRawMessage(v.Interface().(json.RawMessage))
		}
	case gt.NamedType == "String" && t.Kind() == reflect.String && t.PkgPath() == "":
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler { return graphql.MarshalString(v.String()) }
	case gt.NamedType == "Boolean" && t.Kind() == reflect.Bool && t.PkgPath() == "":
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler { return graphql.MarshalBoolean(v.Bool()) }
	case gt.NamedType == "Int" && t.Kind() == reflect.Int && t.PkgPath() == "":
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler { return graphql.MarshalInt(int(v.Int())) }
	case gt.NamedType == "Int" && t.Kind() == reflect.Int64 && t.PkgPath() == "":
		return func(ctx context.Context, v reflect.Value) graphql.Marshaler { return graphql.MarshalInt64(v.Int()) }
	}
	return nil
}
