package graph

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pulse-analytics/pulse/graph/generated"
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
	// rowBytes remembers, by schema field, how long a row of its last list
	// was, to size the next list's buffer once.
	rowBytes sync.Map // *ast.FieldDefinition → *atomic.Int64
	// shared are the plans of lists whose selections no directive makes
	// depend on a response's variables, made once for every response.
	shared sharedPlans
	// resolved are the fields gqlgen resolves by a resolver of Pulse's
	// ("User.anonymousids"), whatever the Go struct holds: never plain.
	resolved map[string]bool
}

func newPlainLists(schema *ast.Schema, rendered func(string)) *plainLists {
	return &plainLists{schema: schema, rendered: rendered, resolved: resolverFields(reflect.TypeFor[generated.ResolverRoot]())}
}

// resolverFields lists the fields of root's resolvers: root has a method
// per object type (User() UserResolver) whose interface has a method per
// field gqlgen leaves to it (AnonymousIds), so keys are the type's name, a
// dot and the field's name in lower case.
func resolverFields(root reflect.Type) map[string]bool {
	fields := map[string]bool{}
	for i := range root.NumMethod() {
		typ := root.Method(i)
		if typ.Type.NumOut() != 1 || typ.Type.Out(0).Kind() != reflect.Interface {
			continue
		}
		resolver := typ.Type.Out(0)
		for j := range resolver.NumMethod() {
			fields[typ.Name+"."+strings.ToLower(resolver.Method(j).Name)] = true
		}
	}
	return fields
}

// sharedPlans holds at most maxSharedPlans plans, as many as the server
// keeps documents: a key holds its document's field, so no other field
// can come to have its address while the plan is kept. When full it is
// emptied and fills again.
type sharedPlans struct {
	mu     sync.Mutex
	byList map[planKey]*plainObject // nil: not plain
}

const maxSharedPlans = 1000

func (s *sharedPlans) get(key planKey) (*plainObject, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.byList[key]
	return obj, ok
}

func (s *sharedPlans) add(key planKey, obj *plainObject) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byList == nil || len(s.byList) >= maxSharedPlans {
		s.byList = make(map[planKey]*plainObject)
	}
	s.byList[key] = obj
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

// InterceptResponse implements graphql.ResponseInterceptor: a response
// plans anew the lists whose selections have directives, as @skip and
// @include may read its variables.
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
	if fc == nil || fc.Field.Field == nil || fc.Field.Definition == nil {
		return res, err
	}
	if fc.Field.Definition.Type.Elem == nil {
		return p.renderObject(ctx, fc, res), nil
	}
	rows := reflect.ValueOf(res)
	if rows.Kind() != reflect.Slice || rows.Type().Elem().Kind() != reflect.Pointer || rows.Type().Elem().Elem().Kind() != reflect.Struct {
		return res, err
	}
	listType := fc.Field.Definition.Type
	obj := p.plan(ctx, fc.Field, listType.Elem.Name(), rows.Type().Elem().Elem())
	if obj == nil {
		return res, err
	}
	var buf bytes.Buffer
	sized := p.rowSize(fc.Field.Definition)
	if n := rows.Len(); n > 0 {
		buf.Grow(n * int(sized.Load()+sized.Load()/8))
	}
	if !obj.writeList(ctx, p, &buf, rows, listType.NonNull, listType.Elem.NonNull) {
		return res, err
	}
	if n := rows.Len(); n > 0 {
		sized.Store(int64(buf.Len() / n))
	}
	if p.rendered != nil {
		p.rendered(listType.Elem.Name())
	}
	return renderedJSON(buf.Bytes()), nil
}

// renderObject returns res, a field's object (node's user, a mutation's
// segment), rendered when its selection is plain, or res as it is.
func (p *plainLists) renderObject(ctx context.Context, fc *graphql.FieldContext, res any) any {
	v := reflect.ValueOf(res)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return res
	}
	typeName := p.objectType(fc.Field.Definition.Type.NamedType, v.Type().Elem())
	if typeName == "" {
		return res
	}
	obj := p.plan(ctx, fc.Field, typeName, v.Type().Elem())
	if obj == nil {
		return res
	}
	var buf bytes.Buffer
	if !obj.write(ctx, p, &buf, v.Elem()) {
		return res
	}
	if p.rendered != nil {
		p.rendered(typeName)
	}
	return renderedJSON(buf.Bytes())
}

// objectType is the object type a value of Go struct type t has in a
// field of type named: named itself when it is an object type, the
// possible type of that name when it is an interface (ent's types are
// named as the schema's: User, APIKey), "" otherwise.
func (p *plainLists) objectType(named string, t reflect.Type) string {
	def := p.schema.Types[named]
	if def == nil {
		return ""
	}
	switch def.Kind {
	case ast.Object:
		return named
	case ast.Interface:
		for _, possible := range p.schema.GetPossibleTypes(def) {
			if possible.Name == t.Name() {
				return possible.Name
			}
		}
	}
	return ""
}

// plan returns the plan of the field's objects of type typeName over Go
// struct type row: made once for every response when no directive under
// the field can make its selection depend on the variables, once per
// response otherwise.
func (p *plainLists) plan(ctx context.Context, field graphql.CollectedField, typeName string, row reflect.Type) *plainObject {
	key := planKey{field: field.Field, selections: len(field.Selections), row: row}
	if len(field.Selections) > 0 {
		key.first = field.Selections[0]
	}
	if obj, ok := p.shared.get(key); ok {
		return obj
	}
	cache, ok := ctx.Value(plansKey{}).(*plans)
	if !ok {
		return p.object(ctx, typeName, field.Selections, row)
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if obj, ok := cache.byList[key]; ok {
		return obj
	}
	obj := p.object(ctx, typeName, field.Selections, row)
	if hasDirectives(field.Selections) {
		cache.byList[key] = obj
	} else {
		p.shared.add(key, obj)
	}
	return obj
}

// hasDirectives reports whether a selection of sel, or under it, carries
// a directive: @skip and @include read the variables, so its collected
// fields may differ between responses. A fragment spread the validator did
// not resolve counts as one.
func hasDirectives(sel ast.SelectionSet) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if len(s.Directives) > 0 || hasDirectives(s.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if len(s.Directives) > 0 || hasDirectives(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if len(s.Directives) > 0 || s.Definition == nil || len(s.Definition.Directives) > 0 || hasDirectives(s.Definition.SelectionSet) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// rowSize is the row length last seen in lists of field, a first guess
// before any: growing a buffer from empty cost a list of 20 rows five
// copies.
func (p *plainLists) rowSize(field *ast.FieldDefinition) *atomic.Int64 {
	if v, ok := p.rowBytes.Load(field); ok {
		return v.(*atomic.Int64)
	}
	guess := new(atomic.Int64)
	guess.Store(128)
	v, _ := p.rowBytes.LoadOrStore(field, guess)
	return v.(*atomic.Int64)
}

// renderedJSON is a list written already.
type renderedJSON []byte

func (r renderedJSON) MarshalGQL(w io.Writer) { _, _ = w.Write(r) }
