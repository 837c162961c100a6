package graph

import (
	"bytes"
	"context"
	"reflect"

	"github.com/99designs/gqlgen/graphql"
)

// writeList writes rows, a slice of pointers to structs, of a list that
// may be null unless listNonNull, whose elements may be null unless
// elemNonNull; false when an element is null where the schema allows none,
// or a nested connection was not loaded. As gqlgen's generated code does,
// a nil slice is null in a nullable list and empty in a non-null one.
func (o *plainObject) writeList(ctx context.Context, p *plainLists, w *bytes.Buffer, rows reflect.Value, listNonNull, elemNonNull bool) bool {
	if rows.IsNil() && !listNonNull {
		graphql.Null.MarshalGQL(w)
		return true
	}
	w.WriteByte('[')
	for i := range rows.Len() {
		if i > 0 {
			w.WriteByte(',')
		}
		row := rows.Index(i)
		if row.IsNil() {
			if elemNonNull {
				return false
			}
			graphql.Null.MarshalGQL(w)
			continue
		}
		if !o.write(ctx, p, w, row.Elem()) {
			return false
		}
	}
	w.WriteByte(']')
	return true
}

// write writes the object v (an addressable struct); false on a null where
// the schema allows none, or a nested connection not loaded.
func (o *plainObject) write(ctx context.Context, p *plainLists, w *bytes.Buffer, v reflect.Value) bool {
	w.WriteByte('{')
	for i, f := range o.fields {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(f.key)
		var ok bool
		switch {
		case f.typename != nil:
			f.typename.MarshalGQL(w)
			ok = true
		case f.conn != nil:
			ok = f.conn.write(ctx, p, w, v.Addr().Interface().(loadedConnections))
		case f.list != nil:
			ok = f.list.writeList(ctx, p, w, v.FieldByIndex(f.index), f.nonNull, !f.elemNull)
		case f.object != nil:
			child := v.FieldByIndex(f.index)
			switch {
			case f.byValue:
				ok = f.object.write(ctx, p, w, child)
			case child.IsNil():
				graphql.Null.MarshalGQL(w)
				ok = !f.nonNull
			default:
				ok = f.object.write(ctx, p, w, child.Elem())
			}
		default:
			ok = f.scalar(ctx, w, v.FieldByIndex(f.index)) || !f.nonNull
		}
		if !ok {
			return false
		}
	}
	w.WriteByte('}')
	return true
}

// write writes the connection of row; false when it was not loaded (or
// failed to be read), for gqlgen to resolve it.
func (c *nestedConnection) write(ctx context.Context, p *plainLists, w *bytes.Buffer, row loadedConnections) bool {
	conn, ok, err := row.LoadedConnection(ctx, c.field)
	if err != nil || !ok {
		return false
	}
	v := reflect.ValueOf(conn)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return false
	}
	c.once.Do(func() { c.plan = p.object(ctx, c.typeName, c.field.Selections, v.Elem().Type()) })
	return c.plan != nil && c.plan.write(ctx, p, w, v.Elem())
}
