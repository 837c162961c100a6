package graph

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

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
		if !ok || gf.methods[name] || p.resolved[typeName+"."+name] || len(f.Arguments) > 0 {
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
			if field.scalar = p.scalarWriter(gt, goField.Type); field.scalar == nil {
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
