package graph

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/live"
)

// sseTransport is gqlgen's Server-Sent Events transport with what a live
// stream needs beyond it: the stream ends when the key it was opened with
// is revoked (the request's context is cancelled with auth.ErrRevoked),
// and each live message it writes counts in the hub's metrics, as the
// WebSocket transport's do.
type sseTransport struct {
	transport.SSE
	keys *auth.Keys
	live *live.Hub
}

var _ graphql.Transport = sseTransport{}

func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	// The middleware checked the key already; it is checked again once
	// watched, so a revocation between the two is not missed (a cache hit
	// while the key cache listens).
	if secret, ok := auth.BearerToken(r.Header.Get("Authorization")); ok {
		scoped, unwatch, err := t.keys.ScopeWatched(ctx, secret, func() { cancel(auth.ErrRevoked) })
		if err != nil {
			rejectKey(w, r, err)
			return
		}
		defer unwatch()
		ctx = scoped
	}
	if t.live != nil {
		count := &sseCount{hub: t.live}
		ctx = context.WithValue(ctx, sseCountKey{}, count)
		w = &sseWriter{ResponseWriter: w, count: count}
	}
	t.SSE.Do(w, r.WithContext(ctx), exec)
}

// sseCount reports the live messages of one stream to the hub once they
// are written and flushed: liveRenderer marks each live item it renders,
// and the next event written is that item's.
type sseCount struct {
	hub *live.Hub

	mu sync.Mutex
	// rendered is set from the item's rendering until its event is
	// written, written from then until it is flushed.
	rendered, written bool
	announced         time.Time
}

type sseCountKey struct{}

// sseCountFrom is the stream's count, nil outside an SSE request.
func sseCountFrom(ctx context.Context) *sseCount {
	c, _ := ctx.Value(sseCountKey{}).(*sseCount)
	return c
}

func (c *sseCount) render(announced time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rendered, c.announced = true, announced
}

// sseEvent starts the events that carry a result (gqlgen writes each with
// one Write); keepalive comments and the final "complete" do not.
var sseEvent = []byte("event: next\n")

// sseWriter is the stream's response writer, which sees its events go out.
type sseWriter struct {
	http.ResponseWriter
	count *sseCount
}

var _ http.Flusher = (*sseWriter)(nil)

func (w *sseWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if err == nil && bytes.HasPrefix(p, sseEvent) {
		w.count.mu.Lock()
		if w.count.rendered {
			w.count.rendered, w.count.written = false, true
		}
		w.count.mu.Unlock()
	}
	return n, err
}

func (w *sseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	w.count.mu.Lock()
	written, announced := w.count.written, w.count.announced
	w.count.written = false
	w.count.mu.Unlock()
	if written {
		w.count.hub.Sent(announced)
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *sseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
