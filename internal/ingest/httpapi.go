package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/httplog"
)

// Sink stores normalised messages; *Writer implements it.
type Sink interface {
	Write(ctx context.Context, msgs []Message) (Result, error)
}

var _ Sink = (*Writer)(nil)

// NewHTTPHandler serves the ingestion APIs that existing SDKs speak:
//
//   - the Segment HTTP Tracking API: POST /v1/batch, /v1/track, /v1/identify,
//     /v1/page, /v1/screen, /v1/group, /v1/alias and analytics.js's short
//     forms /v1/b, /v1/t, /v1/i, /v1/p, /v1/s, /v1/g, /v1/a;
//   - PostHog capture: POST /batch/, /capture/, /e/ and /i/v0/e/, with or
//     without the trailing slash.
//
// The key is a project API key of any role (an INGEST key is the one meant
// for browsers). Bodies may be gzip-compressed. Every error is a JSON body
// {"error": {"code", "message"}}; a request that is refused whole gets a 4xx
// (SDKs do not retry those), a storage failure a 500 (they retry, and message
// ids make the retry safe). CORS is open: ingest keys are write-only.
func NewHTTPHandler(keys *auth.Keys, sink Sink, logger *slog.Logger) http.Handler {
	h := &handler{keys: keys, sink: sink, logger: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/{call}", h.segment)
	mux.HandleFunc("/v1/{call}/{$}", h.segment)
	for _, path := range []string{"/batch", "/capture", "/e", "/i/v0/e"} {
		mux.HandleFunc(path, h.posthog)
		mux.HandleFunc(path+"/{$}", h.posthog)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no ingestion API at %s", r.URL.Path)})
	})
	return cors(mux)
}

// handler holds what every ingestion endpoint needs.
type handler struct {
	keys   *auth.Keys
	sink   Sink
	logger *slog.Logger
}

// apiError is a refusal of a whole request, sent as a JSON error body.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *apiError) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	writeJSON(w, e.status, map[string]body{"error": {Code: e.code, Message: e.message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// cors lets browsers post from any origin: answering the preflight that
// analytics.js triggers with a JSON content type or an Authorization header,
// and allowing every origin to read the answer.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method != http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		allowed := r.Header.Get("Access-Control-Request-Headers")
		if allowed == "" {
			allowed = "Authorization, Content-Type, Content-Encoding"
		}
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", allowed)
		w.Header().Set("Access-Control-Max-Age", "86400")
		w.Header().Add("Vary", "Access-Control-Request-Headers")
		w.WriteHeader(http.StatusNoContent)
	})
}

// requirePost refuses any method but POST (OPTIONS is answered by cors).
func requirePost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", "POST, OPTIONS")
	writeError(w, &apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("%s is not allowed here; send a POST", r.Method)})
	return false
}

// readBody reads the request body, decompressing gzip, refusing it when it
// is larger than limit bytes either as sent or decompressed. The
// decompressed reader is bounded too, so a small gzip bomb costs at most
// limit bytes of memory. Gzip is recognised by Content-Encoding, by an
// explicit gzip query flag (posthog-js sends ?compression=gzip-js with a
// text/plain body), or by the gzip magic number, which no JSON starts with.
func readBody(w http.ResponseWriter, r *http.Request, what string, limit int64, gzipFlag bool) ([]byte, *apiError) {
	if r.ContentLength > limit {
		return nil, badRequest("BODY_TOO_LARGE", "%s is %d bytes; the limit is %d", what, r.ContentLength, limit)
	}
	raw := bufio.NewReader(http.MaxBytesReader(w, r.Body, limit))
	var body io.Reader = raw
	encoding := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	magic, _ := raw.Peek(2)
	compressed := encoding == "gzip" || encoding == "x-gzip" || gzipFlag || string(magic) == "\x1f\x8b"
	switch {
	case compressed:
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, badRequest("BAD_ENCODING", "the body is not valid gzip: %v", err)
		}
		defer func() { _ = zr.Close() }()
		body = io.LimitReader(zr, limit+1)
	case encoding != "" && encoding != "identity":
		return nil, badRequest("BAD_ENCODING", "Content-Encoding %q is not supported; send gzip or an uncompressed body", encoding)
	}
	var sizeHint int64
	if !compressed && r.ContentLength > 0 {
		sizeHint = r.ContentLength
	}
	data, err := readAll(body, sizeHint)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, badRequest("BODY_TOO_LARGE", "%s is more than %d bytes as sent; the limit is %d", what, limit, limit)
	case err != nil && compressed:
		return nil, badRequest("BAD_ENCODING", "the body is not valid gzip: %v", err)
	case err != nil:
		return nil, badRequest("BAD_REQUEST", "read body: %v", err)
	case int64(len(data)) > limit:
		return nil, badRequest("BODY_TOO_LARGE", "%s is more than %d bytes decompressed; the limit is %d", what, limit, limit)
	}
	return data, nil
}

// readAll reads r to the end into one buffer of sizeHint bytes (plus room
// to see the end) when the size is known: io.ReadAll would grow its buffer
// by doubling, allocating about twice a large body.
func readAll(r io.Reader, sizeHint int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, sizeHint+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// parsedBatch is what an API parsed from a request: the messages to store,
// the index in the request of each (one request item may give several
// messages, and items rejected while parsing give none), and the items
// rejected while parsing.
type parsedBatch struct {
	msgs     []Message
	origins  []int
	rejected []Rejection
}

func (b *parsedBatch) add(origin int, m Message) {
	b.msgs = append(b.msgs, m)
	b.origins = append(b.origins, origin)
}

func (b *parsedBatch) reject(index int, messageID, field, format string, args ...any) {
	b.rejected = append(b.rejected, Rejection{Index: index, MessageID: messageID, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// store writes the messages of b, at most MaxBatchSize per Write, and
// reports rejections by request index, with field names renamed by
// fieldName (each API names fields its own way).
func (h *handler) store(ctx context.Context, b *parsedBatch, fieldName func(string) string) (Result, error) {
	res := Result{Rejected: b.rejected}
	for start := 0; start < len(b.msgs); start += MaxBatchSize {
		end := min(start+MaxBatchSize, len(b.msgs))
		part, err := h.sink.Write(ctx, b.msgs[start:end])
		if err != nil {
			return Result{}, err
		}
		res.Accepted += part.Accepted
		res.Duplicates += part.Duplicates
		res.Suppressed += part.Suppressed
		for _, rej := range part.Rejected {
			if rej.Index >= 0 && start+rej.Index < len(b.origins) {
				rej.Index = b.origins[start+rej.Index]
			}
			rej.Field = fieldName(rej.Field)
			res.Rejected = append(res.Rejected, rej)
		}
	}
	slices.SortStableFunc(res.Rejected, func(a, b Rejection) int { return a.Index - b.Index })
	// An item that became two messages may be rejected twice for one reason.
	res.Rejected = slices.Compact(res.Rejected)
	return res, nil
}

// storeAndLog stores b and logs the outcome; a storage failure is answered
// with a 500 that carries no detail (it is in the log).
func (h *handler) storeAndLog(ctx context.Context, b *parsedBatch, fieldName func(string) string) (Result, *apiError) {
	logger := httplog.Logger(ctx, h.logger)
	res, err := h.store(ctx, b, fieldName)
	if err != nil {
		logger.Error("store ingested messages", "messages", len(b.msgs), "error", err)
		return Result{}, &apiError{http.StatusInternalServerError, "INTERNAL", "the messages could not be stored; retry later"}
	}
	logger.Debug("ingested", "accepted", res.Accepted, "duplicates", res.Duplicates, "suppressed", res.Suppressed, "rejected", len(res.Rejected))
	return res, nil
}

// decodeJSON decodes the one JSON value of data into v, keeping numbers as
// json.Number so that integers stay exact, and refuses trailing data.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// malformed describes a JSON decoding error for the client.
func malformed(err error) *apiError {
	var syntax *json.SyntaxError
	var wrongType *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("MALFORMED_JSON", "the body is empty; send a JSON object")
	case errors.As(err, &syntax):
		return badRequest("MALFORMED_JSON", "malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &wrongType) && wrongType.Field != "":
		return badRequest("MALFORMED_JSON", "%s must not be a JSON %s", wrongType.Field, wrongType.Value)
	case errors.As(err, &wrongType):
		return notAnObject(wrongType.Value)
	}
	return badRequest("MALFORMED_JSON", "malformed JSON: %v", err)
}

// plainJSON turns the json.Numbers of a decoded value into Go numbers, in
// place: an integer that fits stays an exact int, other numbers become
// float64, and an integer too large for int keeps its literal (json.Number
// marshals verbatim, so jsonb stores it exactly).
func plainJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = plainJSON(x)
		}
	case []any:
		for i, x := range v {
			v[i] = plainJSON(x)
		}
	case json.Number:
		if i, err := strconv.Atoi(v.String()); err == nil {
			return i
		}
		if !strings.ContainsAny(v.String(), ".eE") {
			return v
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
	}
	return v
}

// object returns v as a JSON object; null is an empty one.
func object(v any) (map[string]any, bool) {
	if v == nil {
		return nil, true
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// idString returns an id as a string: SDKs send numeric ids too, and
// Segment stores them as strings.
func idString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case int:
		return strconv.Itoa(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// text returns v when it is a string, else "".
func text(v any) string {
	s, _ := v.(string)
	return s
}

// lookup follows keys through nested objects.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
