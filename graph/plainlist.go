package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pulse-analytics/pulse/graph/scalar"
)

// plainLists renders a list of objects whose selection reads only stored
// fields (a connection's edges with their nodes' columns, most often) and
// nested connections that field collection loaded, in one pass over the
// rows, where gqlgen's executor resolves every field of every row as a
// field of its own: a field context, a context, closures, a goroutine per
// row. On a page of a hundred users that is most of the request. The
// bytes are gqlgen's, written with the same marshalers; a selection with
// anything else (a resolver, a method, an interface, a directive, @defer)
// is left to gqlgen, and so is a list with a null where the schema allows
// none, so that gqlgen reports it, or a nested connection its rows did not
// load. TestPlainListsAsGqlgen holds the two to the same output.
type plainLists struct {
	schema *ast.Schema
	// types caches, by Go struct type, how its fields are found.
	types sync.Map // reflect.Type → *goFields
	// rendered, when set, is told the type of each list rendered.
	rendered func(typeName string)
}

var (
	_ graphql.HandlerExtension    = (*plainLists)(nil)
	_ graphql.ResponseInterceptor = (*plainLists)(nil)
	_ graphql.FieldInterceptor    = (*plainLists)(nil)
)

// plans are the plans made for one response, by list field and row type:
// the same nested list (each user's events) is planned once.
type plans struct {
	mu     sync.Mutex
	byList map[planKey]*plainObject // nil: not plain
}

// planKey is a list field at one place of the operation: a field of a
// fragment spread in two places has one *ast.Field, but its selections
// merged with different siblings' at each, so they are part of the key.
type planKey struct {
	field      *ast.Field
	first      ast.Selection
	selections int
	row        reflect.Type
}

type plansKey struct{}

// ExtensionName implements graphql.HandlerExtension.
func (*plainLists) ExtensionName() string { return "PlainLists" }

// Validate implements graphql.HandlerExtension.
func (*plainLists) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor: each response
// plans its lists anew, as @skip and @include may read its variables.
func (*plainLists) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return next(context.WithValue(ctx, plansKey{}, &plans{byList: map[planKey]*plainObject{}}))
}

// InterceptField implements graphql.FieldInterceptor: the list a field
// resolved to is returned rendered when its selection is plain. gqlgen
// writes a resolved value that is a graphql.Marshaler as it is.
func (p *plainLists) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil || res == nil {
		return res, err
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil || fc.Field.Definition == nil || fc.Field.Definition.Type.Elem == nil {
		return res, err
	}
	rows := reflect.ValueOf(res)
	if rows.Kind() != reflect.Slice || rows.Type().Elem().Kind() != reflect.Pointer || rows.Type().Elem().Elem().Kind() != reflect.Struct {
		return res, err
	}
	listType := fc.Field.Definition.Type
	obj := p.plan(ctx, fc.Field, rows.Type().Elem().Elem())
	if obj == nil {
		return res, err
	}
	var buf bytes.Buffer
	if !obj.writeList(ctx, p, &buf, rows, listType.NonNull, listType.Elem.NonNull) {
		return res, err
	}
	if p.rendered != nil {
		p.rendered(listType.Elem.Name())
	}
	return renderedJSON(buf.Bytes()), nil
}

// plan returns the plan of the list field over rows of Go type row, made
// once per response.
func (p *plainLists) plan(ctx context.Context, field graphql.CollectedField, row reflect.Type) *plainObject {
	cache, ok := ctx.Value(plansKey{}).(*plans)
	if !ok {
		return p.object(ctx, field.Definition.Type.Elem.Name(), field.Selections, row)
	}
	key := planKey{field: field.Field, selections: len(field.Selections), row: row}
	if len(field.Selections) > 0 {
		key.first = field.Selections[0]
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if obj, ok := cache.byList[key]; ok {
		return obj
	}
	obj := p.object(ctx, field.Definition.Type.Elem.Name(), field.Selections, row)
	cache.byList[key] = obj
	return obj
}

// renderedJSON is a list written already.
type renderedJSON []byte

func (r renderedJSON) MarshalGQL(w io.Writer) { _, _ = w.Write(r) }

// plainObject is how to write one object of a plain selection.
type plainObject struct {
	fields []plainField
}

// plainField is one selected field: its key, and how to write its value:
// the type name (__typename), a scalar, an object (by pointer or by
// value), a list of objects, or a nested connection as field collection
// loaded it.
type plainField struct {
	key      []byte // "alias":
	typename graphql.Marshaler
	index    []int
	scalar   scalarWriter
	object   *plainObject
	byValue  bool // object is a struct, not a pointer to one
	list     *plainObject
	conn     *nestedConnection
	nonNull  bool
	elemNull bool // list elements may be null
}

// nestedConnection is a connection field of the rows: each row returns it
// from LoadedConnection, and its selection is planned on the first.
type nestedConnection struct {
	field    graphql.CollectedField
	typeName string
	once     sync.Once
	plan     *plainObject
}

// loadedConnections are the ent nodes with nested connections (see
// ent/gql_nested.go).
type loadedConnections interface {
	LoadedConnection(ctx context.Context, field graphql.CollectedField) (any, bool, error)
}

var loadedConnectionsType = reflect.TypeFor[loadedConnections]()

// object plans the selection sel of GraphQL object type typeName over Go
// struct type goType, or returns nil when it is not plain.
func (p *plainLists) object(ctx context.Context, typeName string, sel ast.SelectionSet, goType reflect.Type) *plainObject {
	oc := graphql.GetOperationContext(ctx)
	def := p.schema.Types[typeName]
	if def == nil || def.Kind != ast.Object {
		return nil
	}
	satisfies := append([]string{typeName}, def.Interfaces...)
	gf := p.goFields(goType)
	obj := &plainObject{}
	seen := map[string]bool{}
	for _, f := range graphql.CollectFields(oc, sel, satisfies) {
		if len(f.Deferrables) > 0 || seen[f.Alias] {
			return nil
		}
		seen[f.Alias] = true
		field := plainField{key: objectKey(f.Alias)}
		if f.Name == "__typename" {
			field.typename = graphql.MarshalString(typeName)
			obj.fields = append(obj.fields, field)
			continue
		}
		if f.Definition == nil || len(f.Definition.Directives) > 0 {
			return nil
		}
		gt := f.Definition.Type
		named := p.schema.Types[gt.Name()]
		field.nonNull = gt.NonNull
		if gt.Elem == nil && named != nil && named.Kind == ast.Object && strings.HasSuffix(named.Name, "Connection") &&
			reflect.PointerTo(goType).Implements(loadedConnectionsType) {
			field.conn = &nestedConnection{field: f, typeName: named.Name}
			obj.fields = append(obj.fields, field)
			continue
		}
		name := strings.ToLower(f.Name)
		index, ok := gf.fields[name]
		if !ok || gf.methods[name] || len(f.Arguments) > 0 {
			return nil // gqlgen binds a method or a resolver, or passes arguments
		}
		goField := goType.FieldByIndex(index)
		field.index = index
		switch {
		case named != nil && named.Kind == ast.Object && gt.Elem == nil:
			t := goField.Type
			if field.byValue = t.Kind() == reflect.Struct; !field.byValue {
				if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
					return nil
				}
				t = t.Elem()
			}
			field.object = p.object(ctx, named.Name, f.Selections, t)
		case named != nil && named.Kind == ast.Object:
			t := goField.Type
			if gt.Elem.Elem != nil || t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.Pointer || t.Elem().Elem().Kind() != reflect.Struct {
				return nil
			}
			field.elemNull = !gt.Elem.NonNull
			field.list = p.object(ctx, named.Name, f.Selections, t.Elem().Elem())
		default:
			if field.scalar = p.scalarWriter(ctx, gt, goField.Type); field.scalar == nil {
				return nil
			}
		}
		if field.object == nil && field.list == nil && field.scalar == nil {
			return nil
		}
		obj.fields = append(obj.fields, field)
	}
	return obj
}

func objectKey(alias string) []byte {
	var b bytes.Buffer
	graphql.MarshalString(alias).MarshalGQL(&b)
	b.WriteByte(':')
	return b.Bytes()
}

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
			ok = f.scalar(w, v.FieldByIndex(f.index)) || !f.nonNull
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

// goFields is how gqlgen finds a field of a Go struct: by name, case
// aside, a method taking precedence.
type goFields struct {
	fields  map[string][]int
	methods map[string]bool
}

func (p *plainLists) goFields(t reflect.Type) *goFields {
	if cached, ok := p.types.Load(t); ok {
		return cached.(*goFields)
	}
	gf := &goFields{fields: map[string][]int{}, methods: map[string]bool{}}
	for _, f := range reflect.VisibleFields(t) {
		if f.IsExported() && !f.Anonymous {
			gf.fields[strings.ToLower(f.Name)] = f.Index
		}
	}
	for _, typ := range []reflect.Type{t, reflect.PointerTo(t)} {
		for i := range typ.NumMethod() {
			gf.methods[strings.ToLower(typ.Method(i).Name)] = true
		}
	}
	p.types.Store(t, gf)
	return gf
}

var (
	marshalerType = reflect.TypeFor[graphql.Marshaler]()
	timeType      = reflect.TypeFor[time.Time]()
	cursorType    = reflect.TypeFor[entgql.Cursor[int]]()
	mapType       = reflect.TypeFor[map[string]any]()
	rawType       = reflect.TypeFor[json.RawMessage]()
)

// scalarWriter writes a scalar value and reports whether it was not null.
type scalarWriter func(w *bytes.Buffer, v reflect.Value) bool

// scalarWriter returns how to write a value of Go type t in a field of
// GraphQL type gt: the commonest scalars directly, with no marshaler to
// allocate (the bytes are those of the marshalers scalarMarshaler names,
// which TestPlainListsAsGqlgen holds them to), the rest through their
// marshaler. Nil for a type not handled here.
func (p *plainLists) scalarWriter(ctx context.Context, gt *ast.Type, t reflect.Type) scalarWriter {
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
			return func(w *bytes.Buffer, v reflect.Value) bool {
				if v.IsNil() {
					w.WriteString("null")
					return false
				}
				return direct(w, v.Elem())
			}
		}
	}
	marshal := p.scalarMarshaler(ctx, gt, t)
	if marshal == nil {
		return nil
	}
	return func(w *bytes.Buffer, v reflect.Value) bool {
		m := marshal(v)
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
		return func(w *bytes.Buffer, v reflect.Value) bool { writeQuoted(w, v.String()); return true }
	case scalarName == "ID" && t.Kind() == reflect.Int && unnamed:
		return func(w *bytes.Buffer, v reflect.Value) bool {
			w.WriteByte('"')
			w.Write(strconv.AppendInt(w.AvailableBuffer(), v.Int(), 10))
			w.WriteByte('"')
			return true
		}
	case scalarName == "Int" && (t.Kind() == reflect.Int || t.Kind() == reflect.Int64) && unnamed:
		return func(w *bytes.Buffer, v reflect.Value) bool {
			w.Write(strconv.AppendInt(w.AvailableBuffer(), v.Int(), 10))
			return true
		}
	case scalarName == "Boolean" && t.Kind() == reflect.Bool && unnamed:
		return func(w *bytes.Buffer, v reflect.Value) bool {
			w.Write(strconv.AppendBool(w.AvailableBuffer(), v.Bool()))
			return true
		}
	case scalarName == "Time" && t == timeType:
		return func(w *bytes.Buffer, v reflect.Value) bool {
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
		return func(w *bytes.Buffer, v reflect.Value) bool {
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
func (p *plainLists) scalarMarshaler(ctx context.Context, gt *ast.Type, t reflect.Type) func(reflect.Value) graphql.Marshaler {
	if gt.Elem != nil {
		if t.Kind() != reflect.Slice {
			return nil
		}
		elem := p.scalarMarshaler(ctx, gt.Elem, t.Elem())
		if elem == nil {
			return nil
		}
		return func(v reflect.Value) graphql.Marshaler {
			if v.IsNil() && !gt.NonNull {
				return graphql.Null
			}
			list := make(graphql.Array, v.Len())
			for i := range list {
				list[i] = elem(v.Index(i))
			}
			return list
		}
	}
	if t.Kind() == reflect.Pointer {
		if gt.NonNull {
			return nil
		}
		elem := p.scalarMarshaler(ctx, &ast.Type{NamedType: gt.NamedType, NonNull: true}, t.Elem())
		if elem == nil {
			return nil
		}
		return func(v reflect.Value) graphql.Marshaler {
			if v.IsNil() {
				return graphql.Null
			}
			return elem(v.Elem())
		}
	}
	if def := p.schema.Types[gt.NamedType]; def != nil && def.Kind == ast.Enum {
		if !t.Implements(marshalerType) {
			return nil
		}
		return func(v reflect.Value) graphql.Marshaler { return v.Interface().(graphql.Marshaler) }
	}
	switch {
	case gt.NamedType == "ID" && t.Kind() == reflect.Int:
		return func(v reflect.Value) graphql.Marshaler {
			return graphql.WrapContextMarshaler(ctx, scalar.MarshalID(int(v.Int())))
		}
	case gt.NamedType == "Time" && t == timeType:
		return func(v reflect.Value) graphql.Marshaler {
			return graphql.WrapContextMarshaler(ctx, scalar.MarshalTime(v.Interface().(time.Time)))
		}
	case gt.NamedType == "Cursor" && t == cursorType:
		return func(v reflect.Value) graphql.Marshaler {
			return graphql.WrapContextMarshaler(ctx, scalar.MarshalCursor(v.Interface().(entgql.Cursor[int])))
		}
	case gt.NamedType == "JSON" && t == mapType:
		return func(v reflect.Value) graphql.Marshaler {
			if v.IsNil() {
				return graphql.Null
			}
			return graphql.MarshalMap(v.Interface().(map[string]any))
		}
	case gt.NamedType == "JSON" && t == rawType:
		return func(v reflect.Value) graphql.Marshaler {
			if v.IsNil() {
				return graphql.Null
			}
			return scalar.MarshalRawMessage(v.Interface().(json.RawMessage))
		}
	case gt.NamedType == "String" && t.Kind() == reflect.String && t.PkgPath() == "":
		return func(v reflect.Value) graphql.Marshaler { return graphql.MarshalString(v.String()) }
	case gt.NamedType == "Boolean" && t.Kind() == reflect.Bool && t.PkgPath() == "":
		return func(v reflect.Value) graphql.Marshaler { return graphql.MarshalBoolean(v.Bool()) }
	case gt.NamedType == "Int" && t.Kind() == reflect.Int && t.PkgPath() == "":
		return func(v reflect.Value) graphql.Marshaler { return graphql.MarshalInt(int(v.Int())) }
	case gt.NamedType == "Int" && t.Kind() == reflect.Int64 && t.PkgPath() == "":
		return func(v reflect.Value) graphql.Marshaler { return graphql.MarshalInt64(v.Int()) }
	}
	return nil
}
