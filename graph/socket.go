package graph

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// WebSocket close codes Pulse sends besides graphql-transport-ws's own.
const (
	// closeGoingAway: the server is shutting down; reconnect to another
	// process (with afterSeq to miss nothing).
	closeGoingAway = 1001
	// closePolicyViolation: the client read too slowly and its buffer
	// filled up; the reason says where to resume.
	closePolicyViolation = 1008
)

// socketImplementation accepts WebSocket connections through gqlgen's coder
// adapter and keeps a handle on each in the request context, so that a
// subscription can close its connection with a reason (a slow consumer) and
// a shutdown closes with 1001 rather than a normal closure.
type socketImplementation struct {
	inner transport.CoderWebsocketImplementation
}

var _ transport.WebsocketImplementation = socketImplementation{}

func (s socketImplementation) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := s.inner.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	sock := &socket{WebsocketConn: conn, serverCtx: r.Context()}
	if slot, ok := r.Context().Value(socketSlotKey{}).(*socketSlot); ok {
		slot.set(sock)
	}
	return sock, nil
}

// socket is one accepted connection.
type socket struct {
	transport.WebsocketConn
	serverCtx context.Context

	mu     sync.Mutex
	code   int
	reason string
}

var (
	_ transport.WebsocketReadLimiter   = (*socket)(nil)
	_ transport.WebsocketReadDeadliner = (*socket)(nil)
)

// WriteClose replaces gqlgen's normal closure with what really happened: a
// kick, or the server going away.
func (s *socket) WriteClose(code int, message string) error {
	s.mu.Lock()
	if s.code != 0 {
		code, message = s.code, s.reason
	} else if code == transport.WebsocketCloseNormalClosure && s.serverCtx.Err() != nil {
		code, message = closeGoingAway, "server shutting down"
	}
	s.mu.Unlock()
	return s.WebsocketConn.WriteClose(code, message)
}

// kick closes the connection with code and reason, even while a write to a
// client that stopped reading is blocked: the close handshake gives up after
// a few seconds and drops the TCP connection.
func (s *socket) kick(code int, reason string) {
	s.mu.Lock()
	if s.code != 0 {
		s.mu.Unlock()
		return
	}
	s.code, s.reason = code, truncateReason(reason)
	s.mu.Unlock()
	_ = s.WebsocketConn.WriteClose(code, s.reason)
}

func (s *socket) SetReadLimit(limit int64) {
	if l, ok := s.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (s *socket) SetReadDeadline(t time.Time) error {
	if d, ok := s.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

// truncateReason keeps a close reason within the 123 bytes a close frame
// allows.
func truncateReason(reason string) string {
	if len(reason) <= 123 {
		return reason
	}
	return strings.ToValidUTF8(reason[:123], "")
}

// socketSlot carries the accepted socket from the transport to the
// resolvers of its subscriptions, whose contexts derive from the request's.
type socketSlot struct {
	mu   sync.Mutex
	sock *socket
}

type socketSlotKey struct{}

func (s *socketSlot) set(sock *socket) {
	s.mu.Lock()
	s.sock = sock
	s.mu.Unlock()
}

// socketFrom returns the WebSocket connection a subscription runs on, or
// nil (SSE).
func socketFrom(ctx context.Context) *socket {
	slot, ok := ctx.Value(socketSlotKey{}).(*socketSlot)
	if !ok {
		return nil
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	return slot.sock
}

// withSocketSlot gives each WebSocket upgrade request a slot for its socket.
func withSocketSlot(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			r = r.WithContext(context.WithValue(r.Context(), socketSlotKey{}, &socketSlot{}))
		}
		next.ServeHTTP(w, r)
	})
}

// newSocketImplementation accepts any origin: keys travel in
// connection_init, not cookies, so a cross-site page cannot ride on a
// user's session.
func newSocketImplementation() socketImplementation {
	return socketImplementation{inner: transport.CoderWebsocketImplementation{
		AcceptOptions: websocket.AcceptOptions{InsecureSkipVerify: true},
	}}
}
