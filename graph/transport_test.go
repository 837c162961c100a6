package graph_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"
)

// TestHTTPTransports checks the GraphQL-over-HTTP behaviour: media types and
// status codes for GET and POST, and GraphiQL for browsers.
func TestHTTPTransports(t *testing.T) {
	t.Parallel()
	b := setup(t)

	tests := []struct {
		name        string
		method      string
		query       string
		accept      string
		wantStatus  int
		wantType    string
		wantInBody  string
		wantCodeStr string
	}{
		{"GET json", http.MethodGet, "{ viewer { role } }", "application/json", 200, "application/json", `"role":"READ"`, ""},
		{"GET graphql-response", http.MethodGet, "{ viewer { role } }", "application/graphql-response+json", 200, "application/graphql-response+json", `"role":"READ"`, ""},
		{"POST graphql-response", http.MethodPost, "{ viewer { role } }", "application/graphql-response+json", 200, "application/graphql-response+json", `"role":"READ"`, ""},
		{"parse error, graphql-response", http.MethodPost, "{ viewer { role }", "application/graphql-response+json", 400, "application/graphql-response+json", "", "GRAPHQL_PARSE_FAILED"},
		{"validation error, graphql-response", http.MethodPost, "{ nope }", "application/graphql-response+json", 400, "application/graphql-response+json", "", "GRAPHQL_VALIDATION_FAILED"},
		{"validation error, json", http.MethodPost, "{ nope }", "application/json", 200, "application/json", "", "GRAPHQL_VALIDATION_FAILED"},
		{"parse error, json", http.MethodPost, "{ viewer { role }", "application/json", 200, "application/json", "", "GRAPHQL_PARSE_FAILED"},
		{"limit, graphql-response", http.MethodPost, "{ users(first: 100000) { edges { node { id } } } }", "application/graphql-response+json", 400, "application/graphql-response+json", "", "BAD_USER_INPUT"},
		{"both accepted, graphql-response preferred", http.MethodPost, "{ viewer { role } }", "application/json, application/graphql-response+json", 200, "application/graphql-response+json", `"role":"READ"`, ""},
		{"quality decides", http.MethodPost, "{ viewer { role } }", "application/graphql-response+json;q=0.5, application/json", 200, "application/json", `"role":"READ"`, ""},
		{"any type is json", http.MethodGet, "{ viewer { role } }", "*/*", 200, "application/json", `"role":"READ"`, ""},
		{"nothing acceptable", http.MethodPost, "{ viewer { role } }", "text/xml", 406, "application/json", "", "BAD_USER_INPUT"},
		{"mutation over GET is refused", http.MethodGet, `mutation { archiveSegment(id: 1) { id } }`, "application/json", 405, "application/json", "", "BAD_USER_INPUT"},
		{"mutation over GET is refused, graphql-response", http.MethodGet, `mutation { track(input: {userId: "a", event: "e"}) { accepted } }`, "application/graphql-response+json", 405, "application/graphql-response+json", "must be sent with POST", "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var req *http.Request
			var err error
			if tt.method == http.MethodGet {
				req, err = http.NewRequest(http.MethodGet, b.server.URL+"/graphql?query="+url.QueryEscape(tt.query), nil)
			} else {
				body, _ := json.Marshal(map[string]string{"query": tt.query})
				req, err = http.NewRequest(http.MethodPost, b.server.URL+"/graphql", strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
			}
			require.NoError(t, err)
			req.Header.Set("Accept", tt.accept)
			req.Header.Set("Authorization", "Bearer "+b.project.Read)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.Equal(t, tt.wantStatus, res.StatusCode, "body: %s", raw)
			require.Contains(t, res.Header.Get("Content-Type"), tt.wantType)
			require.Contains(t, string(raw), tt.wantInBody)
			if tt.wantCodeStr != "" {
				var out map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(raw, &out))
				require.NotContains(t, out, "data", "an operation that did not run has no data entry")
				var errs gqlResponse
				require.NoError(t, json.Unmarshal(raw, &errs))
				require.Equal(t, tt.wantCodeStr, errs.code())
			}
			if tt.wantStatus == http.StatusMethodNotAllowed {
				require.Equal(t, "POST", res.Header.Get("Allow"))
			}
		})
	}

	t.Run("malformed requests are 400", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ contentType, body string }{
			{"application/json", `{"query": "{ viewer { role } }"`},
			{"application/json", `["{ viewer { role } }"]`},
			{"application/json", `{"query": 1}`},
			{"application/json", `{"query": "{ viewer { role } }", "variables": "x"}`},
			{"application/json", `{}`},
		} {
			req, err := http.NewRequest(http.MethodPost, b.server.URL+"/graphql", strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Accept", "application/graphql-response+json")
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			var out gqlResponse
			require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
			res.Body.Close()
			require.Equal(t, http.StatusBadRequest, res.StatusCode, "body %s", tc.body)
			require.Equal(t, "BAD_USER_INPUT", out.code())
		}
	})

	t.Run("a body that is not JSON is 415", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest(http.MethodPost, b.server.URL+"/graphql", strings.NewReader("{ viewer { role } }"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/plain")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var out gqlResponse
		require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
		require.Equal(t, http.StatusUnsupportedMediaType, res.StatusCode)
		require.Contains(t, out.Errors[0].Message, "send application/json")
	})

	t.Run("GraphiQL for a browser", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest(http.MethodGet, b.server.URL+"/graphql", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, res.Header.Get("Content-Type"), "text/html")
		require.Contains(t, string(raw), "graphiql")
	})

	t.Run("bad bearer key is 401 JSON", func(t *testing.T) {
		t.Parallel()
		status, res := b.do(t, "pk_read_not-a-key", "{ viewer { role } }", nil)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, "UNAUTHENTICATED", res.code())
	})
}

// TestWebSocket speaks both WebSocket subprotocols over a real socket: the key
// travels in connection_init; a bad key is refused with 4403.
func TestWebSocket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	wsURL := "ws" + strings.TrimPrefix(b.server.URL, "http") + "/graphql"

	for _, proto := range []struct {
		name, subprotocol, subscribe, data string
	}{
		{"graphql-transport-ws", "graphql-transport-ws", "subscribe", "next"},
		{"legacy graphql-ws", "graphql-ws", "start", "data"},
	} {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{proto.subprotocol}})
			require.NoError(t, err)
			defer conn.CloseNow()
			require.Equal(t, proto.subprotocol, conn.Subprotocol())

			require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
				"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + b.project.Read},
			}))
			require.Equal(t, "connection_ack", readMessage(ctx, t, conn)["type"])

			require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
				"id": "1", "type": proto.subscribe, "payload": map[string]any{"query": "{ viewer { role project { name } } }"},
			}))
			msg := readMessage(ctx, t, conn)
			require.Equal(t, proto.data, msg["type"])
			require.Equal(t, "1", msg["id"])
			payload, _ := json.Marshal(msg["payload"])
			require.JSONEq(t, `{"data":{"viewer":{"role":"READ","project":{"name":"TestWebSocket"}}}}`, string(payload))
			require.Equal(t, "complete", readMessage(ctx, t, conn)["type"])
		})
	}

	t.Run("bad key is refused at connection_init", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		require.NoError(t, err)
		defer conn.CloseNow()
		require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
			"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer pk_read_wrong"},
		}))
		for {
			var msg map[string]any
			err := wsjson.Read(ctx, conn, &msg)
			if err != nil {
				require.Equal(t, websocket.StatusCode(4403), websocket.CloseStatus(err), "error: %v", err)
				return
			}
			require.NotEqual(t, "connection_ack", msg["type"])
		}
	})
}

func readMessage(ctx context.Context, t *testing.T, conn *websocket.Conn) map[string]any {
	t.Helper()
	for {
		var msg map[string]any
		require.NoError(t, wsjson.Read(ctx, conn, &msg))
		if msg["type"] == "ka" || msg["type"] == "ping" || msg["type"] == "pong" {
			continue
		}
		return msg
	}
}

// TestSSE runs an operation over Server-Sent Events.
func TestSSE(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, err := http.NewRequest(http.MethodPost, b.server.URL+"/graphql", strings.NewReader(`{"query":"{ viewer { role } }"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+b.project.Admin)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "text/event-stream")

	var events []string
	scanner := bufio.NewScanner(res.Body)
	for scanner.Scan() {
		if line, ok := strings.CutPrefix(scanner.Text(), "data: "); ok {
			events = append(events, line)
		}
	}
	require.NoError(t, scanner.Err())
	require.NotEmpty(t, events)
	require.JSONEq(t, `{"data":{"viewer":{"role":"ADMIN"}}}`, events[0])
}
