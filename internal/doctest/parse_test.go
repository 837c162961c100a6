package doctest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// block builds a fenced block; Markdown fences are awkward in Go strings.
func block(info, body string) string { return "```" + info + "\n" + body + "\n```\n" }

func TestParseKinds(t *testing.T) {
	t.Parallel()
	doc := "# Title\n\n" +
		block("sh", "curl -s $PULSE_URL/healthz") + "\n" +
		block("graphql read id=$SEGMENT_ID set:RUN=x.id", "query($id: ID!) { node(id: $id) { id } }") + "\n" +
		block("json response", `{"data":{"node":{"id":"…"}}}`) + "\n" +
		"<!-- doc: skip starts a server -->\n" + block("sh", "pulse worker") +
		block("text", "pulse serve   run the API") +
		block("js", `client.subscribe({ query: "subscription { segmentsChanged { seq } }" })`)
	blocks, err := Parse("X.md", doc)
	require.NoError(t, err)
	require.Len(t, blocks, 6)
	require.Equal(t, Shell, blocks[0].Kind)
	require.Equal(t, "X.md:3", blocks[0].Where())
	require.Equal(t, GraphQL, blocks[1].Kind)
	require.JSONEq(t, `{"data":{"node":{"id":"…"}}}`, blocks[1].Expect, "the response block is attached to the block it answers")
	require.True(t, strings.HasSuffix(blocks[1].Expect, "\n"), "the response keeps its block's text")
	require.Equal(t, Response, blocks[2].Kind)
	require.Equal(t, MarkSkip, blocks[3].Mark)
	require.Equal(t, "starts a server", blocks[3].Reason)
	require.Equal(t, Inert, blocks[4].Kind)
	require.Equal(t, Inert, blocks[5].Kind)
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	blocks, err := Parse("X.md", "<!-- doc: status 405 -->\n"+block("sh", "curl -s x"))
	require.NoError(t, err)
	require.Len(t, blocks, 1)
	require.Equal(t, MarkStatus, blocks[0].Mark)
	require.Equal(t, 405, blocks[0].Status)
}

// TestParseRefusesUnrunExamples: an example that would escape the test is
// an error, not a silent skip.
func TestParseRefusesUnrunExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, err string
	}{
		{"curl in a text block", block("text", "curl -s localhost:8080/healthz"), "looks like a curl or GraphQL example"},
		{"curl in an unlabelled block", block("", "  curl -s localhost:8080/healthz"), "looks like a curl or GraphQL example"},
		{"query in a text block", block("", "{ viewer { role } }"), "looks like a curl or GraphQL example"},
		{"mutation in a json block", block("json", "mutation { recomputeAllSegments { id } }"), "looks like a curl or GraphQL example"},
		{"GraphQL without a role", block("graphql", "{ viewer { role } }"), "names the role"},
		{"GraphQL with two roles", block("graphql read admin", "{ viewer { role } }"), "two roles"},
		{"GraphQL with an unknown word", block("graphql read foo", "{ viewer { role } }"), `unknown word "foo"`},
		{"a variable that is neither", block("graphql read id=abc", "{ viewer { role } }"), "neither $VAR nor JSON"},
		{"skip without a reason", "<!-- doc: skip -->\n" + block("sh", "pulse worker"), "needs a reason"},
		{"an unknown mark", "<!-- doc: skpi slow -->\n" + block("sh", "pulse worker"), "unknown mark"},
		{"a mark on nothing", "<!-- doc: retry -->\nSome prose.\n", "must be followed by a fenced block"},
		{"a mark on an inert block", "<!-- doc: retry -->\n" + block("text", "hello"), "never runs"},
		{"a shell block with info words", block("sh admin", "echo hi"), "takes no info words"},
		{"a detached response", block("sh", "echo hi") + "Prose.\n\n" + block("json response", "{}"), "must follow the block it answers"},
		{"an unterminated block", "```sh\necho hi\n", "unterminated"},
		{"a response to a shell block", block("sh", "echo hi") + block("json response", "{}"), "shows its output in comments"},
		{"status without a code", "<!-- doc: status -->\n" + block("sh", "curl -s x"), "want the HTTP error status"},
		{"status with a success code", "<!-- doc: status 200 -->\n" + block("sh", "curl -s x"), "want the HTTP error status"},
		{"status on a GraphQL block", "<!-- doc: status 400 -->\n" + block("graphql read", "{ viewer { role } }"), "is for shell blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("X.md", tt.doc)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.err)
			require.True(t, strings.HasPrefix(err.Error(), "X.md:"), "the error says where: %v", err)
		})
	}
}

func TestParseGraphQLSpec(t *testing.T) {
	t.Parallel()
	spec, err := ParseGraphQLSpec([]string{"admin", "id=$SEGMENT_ID", "afterSeq=0", "tags=[\"a\"]",
		"set:RUN_ID=recomputeSegment.id", "until:discoveryRun.status=COMPLETED", "error=NOT_FOUND"})
	require.NoError(t, err)
	require.Equal(t, "admin", spec.Role)
	require.Equal(t, map[string]string{"RUN_ID": "recomputeSegment.id"}, spec.Set)
	require.Equal(t, &Until{Path: "discoveryRun.status", Value: "COMPLETED"}, spec.Until)
	require.Equal(t, "NOT_FOUND", spec.Error)

	env := map[string]string{"SEGMENT_ID": "42"}
	vars, err := spec.Variables(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Equal(t, map[string]any{"id": "42", "afterSeq": 0.0, "tags": []any{"a"}}, vars)

	_, err = spec.Variables(func(string) (string, bool) { return "", false })
	require.ErrorContains(t, err, "SEGMENT_ID is not set by an earlier block")
}

func TestLookup(t *testing.T) {
	t.Parallel()
	data := map[string]any{"createSurvey": map[string]any{"id": "7", "questions": []any{map[string]any{"id": "8"}}}}
	v, err := Lookup(data, "createSurvey.questions.0.id")
	require.NoError(t, err)
	require.Equal(t, "8", Scalar(v))
	_, err = Lookup(data, "createSurvey.questions.1.id")
	require.ErrorContains(t, err, "does not index a list of 1")
	_, err = Lookup(data, "createSurvey.name")
	require.ErrorContains(t, err, `no field "name"`)
}

func TestLinksAndAnchors(t *testing.T) {
	t.Parallel()
	doc := "# Pulse\n\n## 1. Ingestion (`internal/ingest`)\n\n## PostHog's capture API\n\n## Notes\n\n## Notes\n\n" +
		"See [API](docs/API.md#subscriptions), [here](#notes), [site](https://example.com/x) and [mail](mailto:a@b.c).\n" +
		block("md", "[not a link](nowhere.md)")
	require.Equal(t, []Link{{Line: 11, Path: "docs/API.md", Anchor: "subscriptions"}, {Line: 11, Anchor: "notes"}}, Links(doc))
	anchors := Anchors(doc)
	for _, a := range []string{"pulse", "1-ingestion-internalingest", "posthogs-capture-api", "notes", "notes-1"} {
		require.True(t, anchors[a], "anchor %s in %v", a, anchors)
	}
}
