package httplog_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/httplog"
)

// TestEveryLineCarriesTheRequestID logs from a handler through the request's
// logger and checks that its line and the access line carry the id.
func TestEveryLineCarriesTheRequestID(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	var seen string // the id the handler finds in its context
	h := httplog.Middleware(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httplog.Logger(r.Context(), logger).Info("handling")
		seen = httplog.RequestID(r.Context())
	}))

	for _, tc := range []struct{ sent, want string }{
		{sent: "client-id_1", want: "client-id_1"},
		{sent: "not a valid id!", want: ""},
	} {
		out.Reset()
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header.Set(httplog.HeaderRequestID, tc.sent)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		id := rec.Header().Get(httplog.HeaderRequestID)
		require.NotEmpty(t, id)
		require.Equal(t, id, seen, "the handler sees the id it answers with")
		if tc.want != "" {
			require.Equal(t, tc.want, id, "a well-formed caller id is kept")
		} else {
			require.NotEqual(t, tc.sent, id, "a malformed caller id is replaced")
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		require.Len(t, lines, 2)
		for _, line := range lines {
			var entry map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &entry))
			require.Equal(t, id, entry["request_id"], line)
		}
	}
}

// TestPersonalPathsAreLoggedAsTheirRoute: logs outlive an erasure, so a
// path naming a person (a user's external id) is logged as its route's
// pattern; other paths as they are.
func TestPersonalPathsAreLoggedAsTheirRoute(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/users/{externalId}/export", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /v1/segments/{id}/members.csv", func(http.ResponseWriter, *http.Request) {})
	h := httplog.Middleware(slog.New(slog.NewJSONHandler(&out, nil)))(mux)
	for path, logged := range map[string]string{
		"/v1/users/ann%40example.com/export": "/v1/users/{externalId}/export",
		"/v1/segments/42/members.csv":        "/v1/segments/42/members.csv",
		"/nowhere/ann@example.com":           "/nowhere/ann@example.com",
	} {
		out.Reset()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		var entry map[string]any
		require.NoError(t, json.Unmarshal(out.Bytes(), &entry))
		require.Equal(t, logged, entry["path"], path)
		require.NotContains(t, out.String(), "ann%40example.com")
	}
}
