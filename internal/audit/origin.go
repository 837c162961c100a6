package audit

import (
	"context"
	"net"
	"net/http"

	"github.com/pulse-analytics/pulse/internal/httplog"
)

// Origin is where a request came from, as the audit log names it.
type Origin struct {
	// RequestID is the id internal/httplog gave the request (the
	// X-Request-Id of its log line), "" without that middleware.
	RequestID string
	// SourceIP is the address of the peer that sent the request.
	SourceIP string
}

type originKey struct{}

// WithOrigin returns ctx carrying o. A connection that outlives its
// request (a WebSocket) copies its request's Origin into the context its
// operations run in.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginOf returns the Origin of ctx, zero when it has none.
func OriginOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// Middleware puts each request's Origin into its context. It must run
// inside httplog.Middleware to see the request id.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := Origin{RequestID: httplog.RequestID(r.Context()), SourceIP: SourceIP(r)}
		next.ServeHTTP(w, r.WithContext(WithOrigin(r.Context(), o)))
	})
}

// SourceIP is the address r came from: the host of its RemoteAddr. Pulse
// has no trusted-proxy setting and reads no X-Forwarded-For (a client could
// write any address there), so behind a reverse proxy this is the proxy's
// address; the proxy's own log then says who called.
func SourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
