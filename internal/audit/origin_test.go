package audit_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/httplog"
)

// TestMiddlewareRecordsTheOrigin: behind httplog, a request's Origin is its
// request id and the host of its peer address; X-Forwarded-For, which any
// client can write, is not believed.
func TestMiddlewareRecordsTheOrigin(t *testing.T) {
	t.Parallel()
	var got audit.Origin
	h := httplog.Middleware(slog.New(slog.DiscardHandler))(audit.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = audit.OriginOf(r.Context())
	})))
	for remote, ip := range map[string]string{"198.51.100.4:51234": "198.51.100.4", "[2001:db8::1]:443": "2001:db8::1", "pipe": "pipe"} {
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		req.RemoteAddr = remote
		req.Header.Set(httplog.HeaderRequestID, "abc-123")
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		h.ServeHTTP(httptest.NewRecorder(), req)
		require.Equal(t, audit.Origin{RequestID: "abc-123", SourceIP: ip}, got, remote)
	}
}
