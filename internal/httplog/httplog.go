// Package httplog gives every HTTP request an id, a logger that carries it,
// and one access-log line.
package httplog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// HeaderRequestID is the header a request id is read from and echoed in.
const HeaderRequestID = "X-Request-Id"

type requestKey struct{}

// request is what a context carries of its request: the id, and the
// logger with it, made on first use (most requests log only their
// access line, which needs none).
type request struct {
	id     string
	base   *slog.Logger
	once   sync.Once
	logger *slog.Logger
}

func (r *request) log() *slog.Logger {
	r.once.Do(func() {
		if r.logger == nil {
			r.logger = r.base.With("request_id", r.id)
		}
	})
	return r.logger
}

// RequestID returns the id Middleware gave the request of ctx, or "".
func RequestID(ctx context.Context) string {
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		return r.id
	}
	return ""
}

// Logger returns the request's logger (with its request id), or fallback.
func Logger(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		return r.log()
	}
	return fallback
}

// WithLogger returns ctx carrying l as its request's logger, and the
// request id ctx had.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, requestKey{}, &request{id: RequestID(ctx), base: l, logger: l})
}

// Middleware assigns a request id (a caller's well-formed X-Request-Id is
// kept), puts a logger with it into the context and logs each request once.
func Middleware(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get(HeaderRequestID)
			if !wellFormed(id) {
				id = newID()
			}
			w.Header().Set(HeaderRequestID, id)
			rec := NewStatusRecorder(w)
			req := r.WithContext(context.WithValue(r.Context(), requestKey{}, &request{id: id, base: logger}))
			next.ServeHTTP(rec, req)
			logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", loggedPath(req)),
				slog.Int("status", rec.Status),
				slog.Duration("duration", time.Since(start)))
		})
	}
}

// personalWildcards are the path wildcards that name a person (a user's
// external id, in an access request): logs outlive an erasure, so a path
// with one is logged as its route's pattern.
var personalWildcards = []string{"externalId"}

// loggedPath is the path of r as logged: the route's pattern (set by the
// ServeMux that served r) when it names a person, the path otherwise.
func loggedPath(r *http.Request) string {
	for _, w := range personalWildcards {
		if r.PathValue(w) != "" {
			if _, path, ok := strings.Cut(r.Pattern, " "); ok {
				return path
			}
			return r.Pattern
		}
	}
	return r.URL.Path
}

func wellFormed(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
