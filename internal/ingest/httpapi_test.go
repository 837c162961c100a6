package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// sinkRejects is the event name the recording sink refuses, to test that
// rejections by the Writer reach the client with the request's indexes.
const sinkRejects = "rejected by sink"

// recordingSink records what the handler would store, with the scope it
// was given. Storage itself is the Writer's and is tested there.
type recordingSink struct {
	mu     sync.Mutex
	msgs   []ingest.Message
	scopes []tenant.Scope
	fail   error
}

func (s *recordingSink) Write(ctx context.Context, msgs []ingest.Message) (ingest.Result, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return ingest.Result{}, tenant.ErrNoTenant
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return ingest.Result{}, s.fail
	}
	s.scopes = append(s.scopes, scope)
	var res ingest.Result
	for i, m := range msgs {
		if m.Event == sinkRejects {
			res.Rejected = append(res.Rejected, ingest.Rejection{Index: i, MessageID: m.MessageID, Field: "event", Reason: "refused by the test sink"})
			continue
		}
		s.msgs = append(s.msgs, m)
		res.Accepted++
	}
	return res, nil
}

// messages returns what the sink received, with raw properties decoded
// (integers as int, like plain JSON decoding gives) so tests compare values.
func (s *recordingSink) messages() []ingest.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]ingest.Message(nil), s.msgs...)
	for i, m := range out {
		if m.RawProperties == nil {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(m.RawProperties))
		dec.UseNumber()
		var props map[string]any
		if err := dec.Decode(&props); err != nil {
			panic(err)
		}
		out[i].Properties, out[i].RawProperties = numbersToInts(props).(map[string]any), nil
	}
	return out
}

// numbersToInts mirrors how the handlers decode JSON numbers.
func numbersToInts(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbersToInts(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbersToInts(e)
		}
	case json.Number:
		if n, err := strconv.Atoi(x.String()); err == nil {
			return n
		}
		if !strings.ContainsAny(x.String(), ".eE") {
			return x
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// httpBundle is the ingestion handler over a recording sink and the real
// key store, served by a test server, with a project of the test's own.
type httpBundle struct {
	server  *httptest.Server
	sink    *recordingSink
	keys    *auth.Keys
	project *auth.NewProject
}

func setupHTTP(t *testing.T) *httpBundle {
	t.Helper()
	client := database.NewClient(pgtest.DB(t))
	project, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	b := &httpBundle{sink: &recordingSink{}, keys: auth.NewKeys(client), project: project}
	b.server = httptest.NewServer(ingest.NewHTTPHandler(b.keys, b.sink, slog.New(slog.DiscardHandler)))
	t.Cleanup(b.server.Close)
	return b
}

// call is one request to the handler.
type call struct {
	method   string // POST unless set
	path     string // with the query, if any
	body     string
	basicKey string // sent as the Basic-auth user with an empty password
	header   map[string]string
	gzip     bool
	chunked  bool // send without Content-Length
}

// reply is the handler's answer, decoded.
type reply struct {
	Status     int
	Header     http.Header
	Raw        string
	Success    bool               `json:"success"`
	PostHog    int                `json:"status"`
	Accepted   int                `json:"accepted"`
	Duplicates int                `json:"duplicates"`
	Rejected   []ingest.Rejection `json:"rejected"`
	Error      *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (b *httpBundle) do(t *testing.T, c call) reply {
	t.Helper()
	body := []byte(c.body)
	if c.gzip {
		body = gzipped(t, body)
	}
	var reader io.Reader = bytes.NewReader(body)
	if c.chunked {
		reader = io.MultiReader(reader)
	}
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, b.server.URL+c.path, reader)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if c.basicKey != "" {
		req.SetBasicAuth(c.basicKey, "")
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	res, err := b.server.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r := reply{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &r), "a JSON body: %s", raw)
		require.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
	}
	return r
}

// requireError asserts a refusal with its status, code and message.
func requireError(t *testing.T, r reply, status int, code, messagePart string) {
	t.Helper()
	require.Equal(t, status, r.Status, r.Raw)
	require.NotNil(t, r.Error, r.Raw)
	require.Equal(t, code, r.Error.Code, r.Raw)
	require.Contains(t, r.Error.Message, messagePart)
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// withKey replaces the KEY placeholder of a JSON template.
func withKey(template, key string) string { return strings.ReplaceAll(template, "KEY", key) }

func TestHTTPAuthentication(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	ctx := tenant.ForProject(context.Background(), b.project.Project.ID)
	revoked, err := b.keys.Create(ctx, tenant.RoleIngest, "revoked")
	require.NoError(t, err)
	_, err = b.keys.Revoke(ctx, revoked.Key.ID)
	require.NoError(t, err)
	ingestKey := b.project.Ingest.Secret
	track := `{"userId":"ann","event":"export"}`

	tests := []struct {
		name    string
		call    call
		wantErr string // the message of a 401, "" for success
	}{
		{"basic auth with an ingest key", call{path: "/v1/track", body: track, basicKey: ingestKey}, ""},
		{"basic auth with a read key", call{path: "/v1/track", body: track, basicKey: b.project.Read.Secret}, ""},
		{"basic auth with an admin key", call{path: "/v1/track", body: track, basicKey: b.project.Admin.Secret}, ""},
		{"basic auth without the colon", call{path: "/v1/track", body: track, header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(ingestKey))}}, ""},
		{"writeKey in the body", call{path: "/v1/track", body: withKey(`{"userId":"ann","event":"export","writeKey":"KEY"}`, ingestKey)}, ""},
		{"writeKey in a batch", call{path: "/v1/batch", body: withKey(`{"batch":[{"type":"track","userId":"ann","event":"export"}],"writeKey":"KEY"}`, ingestKey)}, ""},
		{"writeKey in a batch's message", call{path: "/v1/batch", body: withKey(`{"batch":[{"type":"track","userId":"ann","event":"export","writeKey":"KEY"}]}`, ingestKey)}, ""},
		{"bearer token", call{path: "/v1/track", body: track, header: map[string]string{"Authorization": "Bearer " + ingestKey}}, ""},
		{"posthog api_key", call{path: "/capture/", body: withKey(`{"api_key":"KEY","event":"export","distinct_id":"ann"}`, ingestKey)}, ""},
		{"posthog properties.token", call{path: "/e/", body: withKey(`[{"event":"export","properties":{"distinct_id":"ann","token":"KEY"}}]`, ingestKey)}, ""},
		{"no key", call{path: "/v1/track", body: track}, "no API key: send the write key as the HTTP Basic-auth user"},
		{"no posthog key", call{path: "/batch/", body: `{"batch":[{"event":"export","distinct_id":"ann"}]}`}, "no API key: send the project key as api_key"},
		{"unknown key", call{path: "/v1/track", body: track, basicKey: "pk_ingest_unknown"}, "unknown or revoked API key"},
		{"revoked key", call{path: "/v1/track", body: track, basicKey: revoked.Secret}, "unknown or revoked API key"},
		{"unknown key in the body", call{path: "/v1/batch", body: `{"batch":[],"writeKey":"nope"}`}, "unknown or revoked API key"},
		{"basic auth wins over the body", call{path: "/v1/track", body: withKey(`{"userId":"ann","event":"export","writeKey":"KEY"}`, ingestKey), basicKey: "wrong"}, "unknown or revoked API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, tt.call)
			if tt.wantErr != "" {
				requireError(t, r, http.StatusUnauthorized, "UNAUTHENTICATED", tt.wantErr)
				return
			}
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, 1, r.Accepted, r.Raw)
		})
	}
	require.Len(t, b.sink.messages(), 10, "only authenticated requests are stored")
	for _, scope := range b.sink.scopes {
		require.Equal(t, b.project.Project.ID, scope.ProjectID, "the key decides the project")
	}
}

// TestHTTPBadBodyBeforeBadKey: the key in the header is looked up while the
// body is parsed, but a malformed body is still answered first.
func TestHTTPBadBodyBeforeBadKey(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	r := b.do(t, call{path: "/v1/batch", body: `{"batch": [`, basicKey: "pk_ingest_unknown"})
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	r = b.do(t, call{path: "/v1/batch", body: `{"batch": []}`, basicKey: "pk_ingest_unknown"})
	require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
}

func TestHTTPLimits(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	key := b.project.Ingest.Secret
	// trackOfSize is a track call whose JSON is exactly size bytes.
	trackOfSize := func(size int) string {
		shell := `{"type":"track","userId":"ann","event":"export","properties":{"pad":""}}`
		return strings.Replace(shell, `"pad":""`, `"pad":"`+strings.Repeat("x", size-len(shell))+`"`, 1)
	}
	batchOf := func(msgs ...string) string { return `{"batch":[` + strings.Join(msgs, ",") + `]}` }
	manyMessages := make([]string, ingest.MaxBatchSize+1)
	for i := range manyMessages {
		manyMessages[i] = `{"type":"track","userId":"a","event":"e"}`
	}
	bigBatch := batchOf(trackOfSize(30000), trackOfSize(30000), trackOfSize(30000), trackOfSize(30000), trackOfSize(30000),
		trackOfSize(30000), trackOfSize(30000), trackOfSize(30000), trackOfSize(30000), trackOfSize(30000),
		trackOfSize(30000), trackOfSize(30000), trackOfSize(30000), trackOfSize(30000), trackOfSize(30000),
		trackOfSize(30000), trackOfSize(30000), trackOfSize(30000))
	bomb := batchOf(trackOfSize(10 << 20))

	tests := []struct {
		name     string
		call     call
		wantCode string // "" for 200
		wantMsg  string
	}{
		{"single call at the limit", call{path: "/v1/track", body: trackOfSize(ingest.MaxMessageBytes)}, "", ""},
		{"single call over the limit", call{path: "/v1/track", body: trackOfSize(ingest.MaxMessageBytes + 1)}, "BODY_TOO_LARGE", "call body is 32769 bytes; the limit is 32768"},
		{"single call over the limit, chunked", call{path: "/v1/t", body: trackOfSize(ingest.MaxMessageBytes + 1), chunked: true}, "BODY_TOO_LARGE", "call body is more than 32768 bytes as sent; the limit is 32768"},
		{"single call over the limit once decompressed", call{path: "/v1/track", body: trackOfSize(ingest.MaxMessageBytes + 1), gzip: true}, "BODY_TOO_LARGE", "call body is more than 32768 bytes decompressed"},
		{"batch over the limit", call{path: "/v1/batch", body: bigBatch}, "BODY_TOO_LARGE", fmt.Sprintf("batch body is %d bytes; the limit is 512000", len(bigBatch))},
		{"batch over the limit, chunked", call{path: "/v1/batch", body: bigBatch, chunked: true}, "BODY_TOO_LARGE", "batch body is more than 512000 bytes as sent"},
		{"gzip bomb", call{path: "/v1/batch", body: bomb, gzip: true}, "BODY_TOO_LARGE", "batch body is more than 512000 bytes decompressed; the limit is 512000"},
		{"gzip bomb to posthog", call{path: "/batch/", body: `{"api_key":"x","batch":[{"event":"e","distinct_id":"a","properties":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}]}`, gzip: true}, "BODY_TOO_LARGE", "capture body is more than 512000 bytes decompressed"},
		{"too many messages", call{path: "/v1/batch", body: batchOf(manyMessages...)}, "BATCH_TOO_LARGE", "the batch has 2501 messages; the limit is 2500"},
		{"posthog event over the limit", call{path: "/capture/", body: `{"api_key":"x","event":"e","distinct_id":"a","properties":{"pad":"` + strings.Repeat("x", ingest.MaxMessageBytes) + `"}}`}, "BODY_TOO_LARGE", "event body is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.call.basicKey = key
			r := b.do(t, tt.call)
			if tt.wantCode == "" {
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				require.Equal(t, 1, r.Accepted)
				return
			}
			requireError(t, r, http.StatusBadRequest, tt.wantCode, tt.wantMsg)
		})
	}
	require.Less(t, len(gzipped(t, []byte(bomb))), 64<<10, "the bomb is small when compressed")
}

func TestHTTPBadRequests(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	tests := []struct {
		name    string
		call    call
		status  int
		code    string
		message string
	}{
		{"malformed JSON", call{path: "/v1/track", body: `{"userId": "ann",`}, 400, "MALFORMED_JSON", "malformed JSON"},
		{"syntax error", call{path: "/v1/batch", body: `{"batch": [}`}, 400, "MALFORMED_JSON", "malformed JSON at byte 12"},
		{"trailing data", call{path: "/v1/track", body: `{"userId":"ann","event":"e"} {}`}, 400, "MALFORMED_JSON", "unexpected data after the JSON value"},
		{"empty body", call{path: "/v1/track"}, 400, "MALFORMED_JSON", "the body is empty"},
		{"not an object", call{path: "/v1/track", body: `["track"]`}, 400, "MALFORMED_JSON", "the body must be a JSON object, not a JSON array"},
		{"batch is not an array", call{path: "/v1/batch", body: `{"batch": {"type":"track"}}`}, 400, "MALFORMED_JSON", "batch must not be a JSON object"},
		{"no batch", call{path: "/v1/batch", body: `{"type":"track","userId":"ann","event":"e"}`}, 400, "BAD_REQUEST", `the body has no "batch" array`},
		{"bad batch sentAt", call{path: "/v1/batch", body: `{"batch":[],"sentAt":"yesterday"}`}, 400, "BAD_REQUEST", `sentAt "yesterday" is not an ISO 8601 timestamp`},
		{"bad batch context", call{path: "/v1/batch", body: `{"batch":[],"context":"web"}`}, 400, "BAD_REQUEST", "context must be a JSON object"},
		{"gzip header, plain body", call{path: "/v1/track", body: `{"userId":"ann"}`, header: map[string]string{"Content-Encoding": "gzip"}}, 400, "BAD_ENCODING", "not valid gzip"},
		{"unsupported encoding", call{path: "/v1/track", body: `{}`, header: map[string]string{"Content-Encoding": "br"}}, 400, "BAD_ENCODING", `Content-Encoding "br" is not supported`},
		{"posthog lz64", call{path: "/e/?compression=lz64", body: `x`}, 400, "BAD_ENCODING", `compression "lz64" is not supported`},
		{"posthog malformed", call{path: "/batch/", body: `{"api_key": `}, 400, "MALFORMED_JSON", "malformed JSON"},
		{"GET", call{method: http.MethodGet, path: "/v1/track"}, 405, "METHOD_NOT_ALLOWED", "GET is not allowed here"},
		{"GET to posthog", call{method: http.MethodGet, path: "/e/"}, 405, "METHOD_NOT_ALLOWED", "send a POST"},
		{"unknown call", call{path: "/v1/purchase", body: `{}`}, 404, "NOT_FOUND", `unknown Segment call "purchase"`},
		{"unknown path", call{path: "/v1/track/extra", body: `{}`}, 404, "NOT_FOUND", "no ingestion API at /v1/track/extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.call.basicKey = b.project.Ingest.Secret
			r := b.do(t, tt.call)
			requireError(t, r, tt.status, tt.code, tt.message)
			require.Equal(t, "*", r.Header.Get("Access-Control-Allow-Origin"), "errors are readable cross-origin too")
		})
	}
	require.Empty(t, b.sink.messages())
}

func TestHTTPPreflight(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	for _, path := range []string{"/v1/batch", "/v1/t", "/e/", "/i/v0/e/", "/batch"} {
		t.Run(path, func(t *testing.T) {
			r := b.do(t, call{method: http.MethodOptions, path: path, header: map[string]string{
				"Origin":                         "https://shop.example.com",
				"Access-Control-Request-Method":  "POST",
				"Access-Control-Request-Headers": "authorization, content-type",
			}})
			require.Equal(t, http.StatusNoContent, r.Status)
			require.Equal(t, "*", r.Header.Get("Access-Control-Allow-Origin"))
			require.Equal(t, "POST, OPTIONS", r.Header.Get("Access-Control-Allow-Methods"))
			require.Equal(t, "authorization, content-type", r.Header.Get("Access-Control-Allow-Headers"))
			require.Equal(t, "86400", r.Header.Get("Access-Control-Max-Age"))
		})
	}
	// analytics.js posts text/plain, which needs no preflight: the answer
	// itself must allow the origin.
	r := b.do(t, call{path: "/v1/t", body: withKey(`{"userId":"ann","event":"e","writeKey":"KEY"}`, b.project.Ingest.Secret),
		header: map[string]string{"Content-Type": "text/plain", "Origin": "https://shop.example.com"}})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, "*", r.Header.Get("Access-Control-Allow-Origin"))
}

// TestHTTPStorageFailure: a failure to store is a 500, which SDKs retry,
// and its detail stays in the log.
func TestHTTPStorageFailure(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	b.sink.fail = errors.New("connection refused by 10.0.0.7")
	for _, c := range []call{
		{path: "/v1/track", body: `{"userId":"ann","event":"e"}`},
		{path: "/batch/", body: withKey(`{"api_key":"KEY","batch":[{"event":"e","distinct_id":"ann"}]}`, b.project.Ingest.Secret)},
	} {
		c.basicKey = b.project.Ingest.Secret
		r := b.do(t, c)
		requireError(t, r, http.StatusInternalServerError, "INTERNAL", "could not be stored; retry later")
		require.NotContains(t, r.Raw, "10.0.0.7")
	}
}

// TestHTTPGzipBombMemory: a body that inflates to 256 MB is refused after
// reading at most the limit. It is not parallel: it measures the process's
// allocations, which other tests would disturb.
func TestHTTPGzipBombMemory(t *testing.T) {
	b := setupHTTP(t)
	// Concatenated gzip members are one valid gzip stream: 256 members of
	// 1 MB of zeros each, about 1 KB compressed.
	bomb := bytes.Repeat(gzipped(t, make([]byte, 1<<20)), 256)
	require.Less(t, len(bomb), ingest.MaxBatchBytes, "the bomb passes the limit as sent")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := b.do(t, call{path: "/v1/batch", body: string(bomb), basicKey: b.project.Ingest.Secret,
		header: map[string]string{"Content-Encoding": "gzip"}})
	runtime.ReadMemStats(&after)
	requireError(t, r, http.StatusBadRequest, "BODY_TOO_LARGE", "batch body is more than 512000 bytes decompressed")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "memory stays bounded by the limit, not the bomb")
}

// TestHTTPWithWriter runs both APIs over the real Writer once, to show that
// what the handler produces is what the Writer stores, retries included.
func TestHTTPWithWriter(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	project, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	server := httptest.NewServer(ingest.NewHTTPHandler(auth.NewKeys(client), ingest.NewWriter(db), slog.New(slog.DiscardHandler)))
	t.Cleanup(server.Close)
	b := &httpBundle{server: server, project: project}
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }

	segment := withKey(`{"writeKey": "KEY", "batch": [
	  {"type": "page", "anonymousId": "visitor-1", "name": "Pricing", "messageId": "s1", "timestamp": "`+at(-3*time.Minute)+`"},
	  {"type": "identify", "anonymousId": "visitor-1", "userId": "ann", "traits": {"plan": "pro"}, "messageId": "s2", "timestamp": "`+at(-2*time.Minute)+`"},
	  {"type": "track", "userId": "ann", "event": "Report Exported", "properties": {"rows": 9007199254740993}, "messageId": "s3", "timestamp": "`+at(-time.Minute)+`"}
	]}`, project.Ingest.Secret)
	posthog := withKey(`{"api_key": "KEY", "batch": [
	  {"event": "$pageview", "distinct_id": "dev-9", "uuid": "p1", "timestamp": "`+at(-3*time.Minute)+`",
	   "properties": {"$device_id": "dev-9", "$current_url": "https://example.com/", "$device_type": "Mobile"}},
	  {"event": "$identify", "distinct_id": "bob", "uuid": "p2", "timestamp": "`+at(-2*time.Minute)+`",
	   "$set": {"email": "bob@example.com"}, "properties": {"$anon_distinct_id": "dev-9"}},
	  {"event": "invited teammate", "distinct_id": "bob", "uuid": "p3", "timestamp": "`+at(-time.Minute)+`",
	   "properties": {"$set": {"role": "owner"}}}
	]}`, project.Ingest.Secret)

	for _, c := range []call{{path: "/v1/batch", body: segment}, {path: "/batch/", body: posthog}} {
		first := b.do(t, c)
		require.Equal(t, http.StatusOK, first.Status, first.Raw)
		require.Empty(t, first.Rejected, first.Raw)
		retry := b.do(t, c)
		require.Equal(t, http.StatusOK, retry.Status, retry.Raw)
		require.Equal(t, 2, retry.Duplicates, "a retry stores no event twice: %s", retry.Raw)
	}

	user := func(externalID string) (events int, traits string) {
		t.Helper()
		require.NoError(t, db.QueryRow(`SELECT event_count, traits::text FROM users WHERE project_id = $1 AND external_id = $2`,
			project.Project.ID, externalID).Scan(&events, &traits))
		return events, traits
	}
	events, traits := user("ann")
	require.Equal(t, 2, events, "the anonymous page view and the track")
	require.JSONEq(t, `{"plan": "pro"}`, traits)
	events, traits = user("bob")
	require.Equal(t, 2, events, "the anonymous page view and the custom event")
	require.JSONEq(t, `{"email": "bob@example.com", "role": "owner"}`, traits)
	var rows, platform string
	require.NoError(t, db.QueryRow(`SELECT properties->>'rows' FROM events WHERE project_id = $1 AND message_id = 's3'`, project.Project.ID).Scan(&rows))
	require.Equal(t, "9007199254740993", rows)
	require.NoError(t, db.QueryRow(`SELECT platform FROM events WHERE project_id = $1 AND message_id = 'p1'`, project.Project.ID).Scan(&platform))
	require.Equal(t, "MOBILE", platform)
}
