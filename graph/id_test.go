package graph_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/graph/generated"
	"github.com/pulse-analytics/pulse/graph/scalar"
)

// idTables are the tables of the types @idOf names (GraphQL type → table).
var idTables = map[string]string{
	"APIKey": "api_keys", "DiscoveryRun": "discovery_runs", "Feedback": "feedbacks", "Segment": "segments",
	"SegmentRun": "segment_runs", "Survey": "surveys", "SurveyQuestion": "survey_questions", "User": "users",
	"WebhookEndpoint": "webhook_endpoints", "WebhookMessage": "webhook_messages",
}

// unknownID is a well-formed id of table that no row has: half-way up the
// table's range of global ids.
func unknownID(t *testing.T, table string) string {
	t.Helper()
	for k := range 64 {
		if got, ok := ent.TableOfID(k << 32); ok && got == table {
			return gid(k<<32 + 1<<31)
		}
	}
	t.Fatalf("no id range for table %q", table)
	return ""
}

// idCase is one ID position in the arguments of a root field: where to put
// a bad id, and the type the position wants ("" when any type will do).
type idCase struct {
	operation string // query, mutation or subscription
	field     *ast.FieldDefinition
	target    ast.Path // from the argument's name down to the ID
	wantType  string
}

func (c idCase) String() string { return c.field.Name + "." + scalar.FormatPath(c.target) }

// TestIDArguments puts a malformed id, and a well-formed id of another type,
// at every ID position of every root field's arguments (arguments, list
// elements, input object fields, enumerated from the parsed schema, so a new
// field is covered the day it is added): each answers BAD_USER_INPUT naming
// the argument's path, and nothing is logged at ERROR. It also requires
// every ID argument outside the generated filters to say which type it
// wants (@idOf).
func TestIDArguments(t *testing.T) {
	t.Parallel()
	logs := &errorRecorder{}
	b := setupWith(t, graph.Options{Logger: slog.New(logs)})
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	cases, untyped := idCases(schema)

	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.String()] = true
	}
	for _, want := range []string{"node.id", "nodes.ids[0]", "explainMembership.userId", "recomputeSegment.id",
		"createSegment.input.rule.inSegment", "submitSurveyResponse.input.answers[0].questionId",
		"segmentOverlap.segmentIds[0]", "segmentMembershipChanged.segmentId", "users.where.id", "feedbacks.where.userID"} {
		require.True(t, covered[want], "no case for %s", want)
	}
	require.Empty(t, untyped, "ID arguments without @idOf(type:)")

	for _, c := range cases {
		bad := map[string]string{"malformed": `"ann"`}
		if c.wantType != "" {
			other := "users"
			if idTables[c.wantType] == other {
				other = "segments"
			}
			bad["another type's id"] = `"` + unknownID(t, other) + `"`
		}
		for kind, value := range bad {
			query := buildQuery(t, schema, c, value)
			res := b.post(t, c.operation, query)
			require.Equal(t, "BAD_USER_INPUT", res.code(), "%s (%s): %s\n%+v", c, kind, query, res.Errors)
			e := res.Errors[0]
			field := scalar.FormatPath(c.target)
			require.Equal(t, field, e.Extensions["field"], "%s (%s)", c, kind)
			require.Contains(t, e.Message, field, "%s (%s): the message names the argument", c, kind)
			wantPath := append([]any{c.field.Name}, pathJSON(c.target)...)
			require.GreaterOrEqual(t, len(e.Path), 2, "%s (%s): path %v", c, kind, e.Path)
			require.Equal(t, wantPath[:len(e.Path)], e.Path, "%s (%s)", c, kind)
		}
	}
	require.Empty(t, logs.all(), "bad ids are not logged as errors")
}

// idCases walks the arguments of the root fields to every ID position.
// untyped lists the ID arguments and input fields that do not carry @idOf
// and should: all but node/nodes and the generated where-filters, where an
// id of another type simply matches nothing.
func idCases(schema *ast.Schema) (cases []idCase, untyped []string) {
	roots := map[string]*ast.Definition{"query": schema.Query, "mutation": schema.Mutation, "subscription": schema.Subscription}
	for operation, root := range roots {
		for _, field := range root.Fields {
			if strings.HasPrefix(field.Name, "__") {
				continue
			}
			for _, arg := range field.Arguments {
				seen := map[string]bool{}
				var walk func(typ *ast.Type, directives ast.DirectiveList, owner string, path ast.Path)
				walk = func(typ *ast.Type, directives ast.DirectiveList, owner string, path ast.Path) {
					if typ.Elem != nil {
						walk(typ.Elem, directives, owner, append(path, ast.PathIndex(0)))
						return
					}
					if typ.NamedType == "ID" {
						c := idCase{operation: operation, field: field, target: append(ast.Path(nil), path...), wantType: idOfType(directives)}
						cases = append(cases, c)
						anyType := field.Name == "node" || field.Name == "nodes" || strings.HasSuffix(owner, "WhereInput")
						if c.wantType == "" && !anyType {
							untyped = append(untyped, c.String())
						}
						return
					}
					def := schema.Types[typ.NamedType]
					if def.Kind != ast.InputObject || seen[def.Name] {
						return
					}
					seen[def.Name] = true
					for _, f := range def.Fields {
						walk(f.Type, f.Directives, def.Name, append(path, ast.PathName(f.Name)))
					}
				}
				walk(arg.Type, arg.Directives, "", ast.Path{ast.PathName(arg.Name)})
			}
		}
	}
	return cases, untyped
}

func idOfType(directives ast.DirectiveList) string {
	d := directives.ForName("idOf")
	if d == nil {
		return ""
	}
	return d.Arguments.ForName("type").Value.Raw
}

// buildQuery writes the operation for c: the field with its required
// arguments set to valid values and value at c.target.
func buildQuery(t *testing.T, schema *ast.Schema, c idCase, value string) string {
	t.Helper()
	var args []string
	for _, arg := range c.field.Arguments {
		name := ast.PathName(arg.Name)
		if c.target[0] == name {
			args = append(args, arg.Name+": "+literal(t, schema, arg.Type, arg.Directives, c.target[1:], value))
		} else if arg.Type.NonNull && arg.DefaultValue == nil {
			args = append(args, arg.Name+": "+literal(t, schema, arg.Type, arg.Directives, nil, ""))
		}
	}
	selection := ""
	switch schema.Types[c.field.Type.Name()].Kind {
	case ast.Object, ast.Interface, ast.Union:
		selection = " { __typename }"
	}
	return fmt.Sprintf("%s { %s(%s)%s }", c.operation, c.field.Name, strings.Join(args, ", "), selection)
}

// literal is a GraphQL literal of typ: value when target is empty and not
// nil (the ID position itself), else a valid value leading to target.
func literal(t *testing.T, schema *ast.Schema, typ *ast.Type, directives ast.DirectiveList, target ast.Path, value string) string {
	t.Helper()
	atTarget := target != nil && len(target) == 0
	if typ.Elem != nil {
		if target != nil && !atTarget {
			target = target[1:]
		}
		return "[" + literal(t, schema, typ.Elem, directives, target, value) + "]"
	}
	if atTarget {
		return value
	}
	def := schema.Types[typ.NamedType]
	switch def.Kind {
	case ast.Enum:
		return def.EnumValues[0].Name
	case ast.InputObject:
		return objectLiteral(t, schema, def, target, value)
	}
	switch typ.NamedType {
	case "ID":
		wantType := idOfType(directives)
		if wantType == "" {
			wantType = "User"
		}
		return `"` + unknownID(t, idTables[wantType]) + `"`
	case "Int":
		return "1"
	case "Float":
		return "0.5"
	case "String":
		return `"x"`
	case "Boolean":
		return "false"
	case "Time":
		return `"2026-03-01T00:00:00Z"`
	case "Date":
		return `"2026-03-01"`
	case "JSON":
		return "{}"
	}
	t.Fatalf("no literal for scalar %s: add one", typ.NamedType)
	return ""
}

// objectLiteral sets the required fields of an input object and the one on
// the way to target; a @oneOf object gets just one field.
func objectLiteral(t *testing.T, schema *ast.Schema, def *ast.Definition, target ast.Path, value string) string {
	t.Helper()
	oneOf := def.Directives.ForName("oneOf") != nil
	var fields []string
	for _, f := range def.Fields {
		switch {
		case target != nil && target[0] == ast.PathName(f.Name):
			fields = append(fields, f.Name+": "+literal(t, schema, f.Type, f.Directives, target[1:], value))
		case oneOf:
			if target == nil && len(fields) == 0 && f.Type.Elem == nil && schema.Types[f.Type.NamedType].Kind == ast.Scalar {
				fields = append(fields, f.Name+": "+literal(t, schema, f.Type, f.Directives, nil, ""))
			}
		case f.Type.NonNull && f.DefaultValue == nil:
			fields = append(fields, f.Name+": "+literal(t, schema, f.Type, f.Directives, nil, ""))
		}
	}
	return "{" + strings.Join(fields, ", ") + "}"
}

// pathJSON is path as it decodes from a response's errors[].path.
func pathJSON(path ast.Path) []any {
	out := make([]any, len(path))
	for i, elem := range path {
		switch elem := elem.(type) {
		case ast.PathIndex:
			out[i] = float64(elem)
		case ast.PathName:
			out[i] = string(elem)
		}
	}
	return out
}

// post runs query with the ADMIN key; a subscription over Server-Sent Events,
// whose first event it returns.
func (b *testBundle) post(t *testing.T, operation, query string) gqlResponse {
	t.Helper()
	if operation != "subscription" {
		_, res := b.do(t, b.project.Admin, query, nil)
		return res
	}
	body, err := json.Marshal(map[string]any{"query": query})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, b.server.URL+"/graphql", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+b.project.Admin)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	scanner := bufio.NewScanner(res.Body)
	for scanner.Scan() {
		if data, ok := strings.CutPrefix(scanner.Text(), "data: "); ok {
			var out gqlResponse
			require.NoError(t, json.Unmarshal([]byte(data), &out), "event: %s", data)
			return out
		}
	}
	require.NoError(t, scanner.Err())
	t.Fatalf("subscription %s: no event", query)
	return gqlResponse{}
}

// errorRecorder is a slog handler that keeps the records at ERROR and above.
type errorRecorder struct {
	mu      sync.Mutex
	records []string
}

func (h *errorRecorder) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelError
}

func (h *errorRecorder) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, line)
	return nil
}

func (h *errorRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorRecorder) WithGroup(string) slog.Handler      { return h }

func (h *errorRecorder) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.records...)
}

// TestMalformedCursor refuses a cursor the API did not write as bad input
// naming the argument, at the root and in a nested connection.
func TestMalformedCursor(t *testing.T) {
	t.Parallel()
	logs := &errorRecorder{}
	b := setupWith(t, graph.Options{Logger: slog.New(logs)})
	seed(t, b, b.project, "c", 2)
	for query, wantPath := range map[string][]any{
		`{ users(first: 1, after: "zzz") { totalCount } }`: {"users", "after"},
		`{ segments(first: 1) { edges { node { members(first: 1, before: "bm90IGEgY3Vyc29y") { totalCount } } } } }`: {
			"segments", "edges", "node", "members", "before"},
	} {
		_, res := b.do(t, b.project.Read, query, nil)
		require.Equal(t, "BAD_USER_INPUT", res.code(), "%s: %+v %v", query, res.Errors, logs.all())
		require.Equal(t, wantPath, res.Errors[0].Path, query)
		require.Equal(t, wantPath[len(wantPath)-1], res.Errors[0].Extensions["field"], query)
		require.Contains(t, res.Errors[0].Message, "cursor", query)
	}
	require.Empty(t, logs.all())
}
