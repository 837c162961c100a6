package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The media types of GraphQL over HTTP responses.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// httpTransport is GraphQL over HTTP (https://graphql.github.io/graphql-over-http/)
// for GET and POST, as the spec has it:
//   - the response is application/graphql-response+json or application/json
//     as the Accept header prefers (application/json without one; 406 when
//     neither is acceptable);
//   - a request that cannot be executed (malformed body or parameters:
//     400; a document that fails to parse or validate, variables that fail
//     to coerce, a refused limit) has no data entry, and answers 400 under
//     application/graphql-response+json but 200 under application/json,
//     whose clients read errors from the body;
//   - a mutation over GET answers 405 with Allow: POST.
//
// Server-Sent Events and WebSockets have their own transports, registered
// before this one.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

func (httpTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && (r.Method == http.MethodGet || r.Method == http.MethodPost)
}

func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media, ok := responseMediaType(r.Header.Get("Accept"))
	if !ok {
		writeRequestError(w, mediaJSON, http.StatusNotAcceptable,
			"none of the media types in Accept can be served: accept application/graphql-response+json or application/json")
		return
	}
	var (
		params *graphql.RawParams
		err    error
	)
	if r.Method == http.MethodGet {
		params, err = getParams(r.URL.RawQuery)
	} else {
		params, err = postParams(r)
	}
	var unsupported *unsupportedMediaError
	switch {
	case errors.As(err, &unsupported):
		writeRequestError(w, media, http.StatusUnsupportedMediaType, err.Error())
		return
	case err != nil:
		writeRequestError(w, media, http.StatusBadRequest, err.Error())
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: graphql.Now(), End: graphql.Now()}

	ctx := r.Context()
	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs)
		writeResponse(w, media, status, errorsOnly{Errors: resp.Errors, Extensions: resp.Extensions})
		return
	}
	if r.Method == http.MethodGet && oc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", http.MethodPost)
		writeRequestError(w, media, http.StatusMethodNotAllowed,
			fmt.Sprintf("a %s must be sent with POST: GET only runs queries", oc.Operation.Operation))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	writeData(w, media, responses(ctx))
}

// writeData writes an operation's response. One with data only is the
// data in an envelope: gqlgen wrote it as JSON already, and encoding it
// again would only scan and copy it once more. Anything else is encoded.
func writeData(w http.ResponseWriter, media string, resp *graphql.Response) {
	if len(resp.Errors) > 0 || len(resp.Extensions) > 0 || resp.Label != "" || resp.Path != nil || resp.HasNext != nil || len(resp.Data) == 0 {
		writeResponse(w, media, http.StatusOK, resp)
		return
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(dataOpen)+len(resp.Data)+len(dataClose)))
	w.WriteHeader(http.StatusOK)
	// The client may have gone; nothing to do then.
	_, _ = w.Write(dataOpen)
	_, _ = w.Write(resp.Data)
	_, _ = w.Write(dataClose)
}

var dataOpen, dataClose = []byte(`{"data":`), []byte(`}`)

// responseMediaType picks the response media type by the Accept header:
// the acceptable one of highest quality, application/graphql-response+json
// on a tie.
func responseMediaType(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, true
	}
	best, bestQ := "", 0.0
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if raw, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(raw, 64); err != nil {
				continue
			}
		}
		var candidate string
		switch mediaType {
		case mediaGraphQLResponse:
			candidate = mediaGraphQLResponse
		case mediaJSON, "application/*", "*/*":
			candidate = mediaJSON
		default:
			continue
		}
		if q > bestQ || (q == bestQ && q > 0 && candidate == mediaGraphQLResponse) {
			best, bestQ = candidate, q
		}
	}
	return best, bestQ > 0
}

// unsupportedMediaError is a POST body that is not application/json.
type unsupportedMediaError struct{ contentType string }

func (e *unsupportedMediaError) Error() string {
	return fmt.Sprintf("the body's Content-Type is %q: send application/json", e.contentType)
}

// postParams reads the request parameters from a JSON body.
func postParams(r *http.Request) (*graphql.RawParams, error) {
	contentType := r.Header.Get("Content-Type")
	if contentType != mediaJSON {
		mediaType, _, err := mime.ParseMediaType(contentType)
		if err != nil || mediaType != mediaJSON {
			return nil, &unsupportedMediaError{contentType}
		}
	}
	var body []byte
	if read, ok := r.Body.(*readBody); ok {
		body = read.bytes
	} else {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, errors.New("could not read the request body")
		}
	}
	// One decode when the body is well formed; the field-by-field decode
	// below only explains what is wrong with one that is not.
	var params struct {
		Query         *string        `json:"query"`
		OperationName *string        `json:"operationName"`
		Variables     map[string]any `json:"variables"`
		Extensions    map[string]any `json:"extensions"`
	}
	if err := decodeJSON(body, &params); err == nil && params.Query != nil && *params.Query != "" {
		out := &graphql.RawParams{Query: *params.Query, Variables: params.Variables, Extensions: params.Extensions}
		if params.OperationName != nil {
			out.OperationName = *params.OperationName
		}
		return out, nil
	}
	return explainParams(body)
}

// explainParams decodes a body postParams refused field by field, to say
// what is wrong with it.
func explainParams(body []byte) (*graphql.RawParams, error) {
	var raw map[string]json.RawMessage
	if err := decodeJSON(body, &raw); err != nil || raw == nil {
		return nil, errors.New("the body must be a JSON object: {\"query\": \"...\", \"variables\": {...}}")
	}
	params := &graphql.RawParams{}
	fields := []struct {
		name string
		dst  any
	}{
		{"query", &params.Query},
		{"operationName", &params.OperationName},
		{"variables", &params.Variables},
		{"extensions", &params.Extensions},
	}
	for _, f := range fields {
		value, ok := raw[f.name]
		if !ok || string(value) == "null" {
			continue
		}
		if err := decodeJSON(value, f.dst); err != nil {
			return nil, fmt.Errorf("%s must be %s", f.name, paramKind(f.name))
		}
	}
	if params.Query == "" {
		return nil, errors.New("the request has no query")
	}
	return params, nil
}

// getParams reads the request parameters from a query string.
func getParams(rawQuery string) (*graphql.RawParams, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("the query string is malformed: %w", err)
	}
	params := &graphql.RawParams{Query: values.Get("query"), OperationName: values.Get("operationName")}
	if params.Query == "" {
		return nil, errors.New("the request has no query parameter")
	}
	for name, dst := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
		if raw := values.Get(name); raw != "" {
			if err := decodeJSON([]byte(raw), dst); err != nil {
				return nil, fmt.Errorf("%s must be %s", name, paramKind(name))
			}
		}
	}
	return params, nil
}

func paramKind(name string) string {
	switch name {
	case "query", "operationName":
		return "a string"
	}
	return "a JSON object"
}

// decodeJSON decodes one JSON value, numbers kept exact (as gqlgen does).
func decodeJSON(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// errorsOnly is a response to a request that was not executed: the spec
// wants no data entry at all (not even null).
type errorsOnly struct {
	Errors     gqlerror.List  `json:"errors"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// writeRequestError answers a request refused before parsing.
func writeRequestError(w http.ResponseWriter, media string, status int, message string) {
	writeResponse(w, media, status, errorsOnly{Errors: gqlerror.List{{
		Message:    message,
		Extensions: map[string]any{"code": CodeBadUserInput},
	}}})
}

func writeResponse(w http.ResponseWriter, media string, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		// Responses are built of JSON values; this is a bug, reported as one.
		status = http.StatusInternalServerError
		data = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data) // the client may have gone; nothing to do then
}
