package httplog

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
)

// StatusRecorder remembers the status code a handler answered with, for the
// access log and the request metrics. It forwards Flush, Hijack and Unwrap
// so SSE and WebSocket upgrades keep working through it; a hijacked
// connection counts as 101 Switching Protocols.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
}

// NewStatusRecorder wraps w; the status is 200 until the handler writes
// another.
func NewStatusRecorder(w http.ResponseWriter) *StatusRecorder {
	return &StatusRecorder{ResponseWriter: w, Status: http.StatusOK}
}

// WriteHeader records code and writes it.
func (r *StatusRecorder) WriteHeader(code int) {
	r.Status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush flushes the underlying writer when it can.
func (r *StatusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *StatusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack lets WebSocket upgrades take over the connection.
func (r *StatusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("response writer %T cannot hijack", r.ResponseWriter)
	}
	r.Status = http.StatusSwitchingProtocols
	return h.Hijack()
}

var (
	_ http.Flusher  = (*StatusRecorder)(nil)
	_ http.Hijacker = (*StatusRecorder)(nil)
)
