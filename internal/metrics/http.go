package metrics

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Middleware counts and times the requests of mux by the pattern that
// matched them ("/graphql", "GET /healthz", "/v1/{call}"), never by the raw
// path, so the label set stays bounded. It must wrap the ServeMux directly:
// the mux records the matched pattern on the request it is given.
func (m *Metrics) Middleware(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		handler := r.Pattern
		if handler == "" {
			handler = "unmatched"
		}
		m.httpRequests.WithLabelValues(handler, r.Method, strconv.Itoa(rec.status)).Inc()
		if rec.status != http.StatusSwitchingProtocols {
			m.httpDuration.WithLabelValues(handler, r.Method).Observe(time.Since(start).Seconds())
		}
	})
}

// recorder remembers the status code. It forwards Flush, Hijack and Unwrap
// so SSE and WebSocket upgrades work through it.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack lets WebSocket upgrades take over the connection.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("response writer %T cannot hijack", r.ResponseWriter)
	}
	r.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

var (
	_ http.Flusher  = (*recorder)(nil)
	_ http.Hijacker = (*recorder)(nil)
)
