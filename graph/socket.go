package graph

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"

	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/httplog"
	"github.com/pulse-analytics/pulse/internal/live"
)

// socketTransport serves GraphQL over WebSocket, both subprotocols
// (graphql-transport-ws and the legacy graphql-ws), with the key in
// connection_init. It replaces gqlgen's transport for what an idle
// subscriber costs: gqlgen keeps, per connection, the HTTP server's
// goroutine with its request and buffers and a goroutine for cancellation,
// and per subscription a goroutine blocked in the executor; about 70 KiB
// per idle subscriber. Here a connection is one goroutine reading it, with
// small buffers of its own; the HTTP handler returns once the socket is
// accepted. A live subscription has no goroutine at all: the hub offers
// each item to its sink, which queues a message rendered once per distinct
// operation (see renderer), and a writer goroutine runs only while the
// connection has messages queued. Other operations (queries, mutations,
// subscriptions that are not live) run in a goroutine while they last, as
// in gqlgen.
type socketTransport struct {
	keys        *auth.Keys
	live        *live.Hub
	renders     *renderer
	logger      *slog.Logger
	keepAlive   time.Duration
	initTimeout time.Duration
	sockets     *socketSet
}

var _ graphql.Transport = (*socketTransport)(nil)

// Sizes of a connection's buffers: frame headers fit, client messages
// (subscribe, ping) are read through; the transport writes its messages
// whole (see frameWriter), so the library's write buffer is the smallest
// there is.
const (
	socketReadBuffer  = 64
	socketWriteBuffer = 16
	// socketReadLimit bounds one client message, as gqlgen's transport did.
	socketReadLimit = 1 << 20
	// socketWriteTimeout drops a connection whose client has not taken its
	// queued messages in this long (its queue may not be full yet).
	socketWriteTimeout = 30 * time.Second
	// socketCloseGrace bounds a close handshake, the client's reply
	// included.
	socketCloseGrace = 5 * time.Second
)

func (t *socketTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// Do accepts the connection and returns: the connection lives on in a
// goroutine of its own, without the HTTP server's request and buffers.
func (t *socketTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	hijacker := &smallBuffers{ResponseWriter: w}
	ws, err := websocket.Accept(hijacker, r, &websocket.AcceptOptions{
		Subprotocols: socketProtocols,
		// Keys travel in connection_init, not cookies, so a cross-site page
		// cannot ride on a user's session.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept answered the request
	}
	proto := protocolNamed(ws.Subprotocol())
	if proto == nil {
		_ = ws.Close(closeProtocolError, "unsupported subprotocol")
		return
	}
	ws.SetReadLimit(socketReadLimit)
	// The request's context ends when this handler returns, and holds on
	// to what served it: the connection keeps only its logger (with the
	// request id) and its Origin, for the audit log.
	// Not cancellable: operations that need it get a context of their own,
	// cancelled when they stop or the connection ends.
	ctx := httplog.WithLogger(context.Background(), httplog.Logger(r.Context(), t.logger))
	ctx = audit.WithOrigin(ctx, audit.OriginOf(r.Context()))
	c := &socketConn{t: t, exec: exec, ws: ws, netConn: hijacker.conn, reader: hijacker.reader, writes: hijacker.writes, proto: proto, ctx: ctx,
		ops: map[string]*socketOperation{}, limit: live.DefaultBuffer}
	if t.live != nil {
		c.limit = t.live.Buffer()
	}
	if !t.sockets.add(r, c) {
		_ = ws.Close(closeGoingAway, "server shutting down")
		return
	}
	go c.serve()
}

// smallBuffers hands the WebSocket library buffers of the sizes above
// instead of the HTTP server's 4 KiB ones, which would stay allocated as
// long as the connection, writing through a frameWriter, and keeps the
// connection (for waiting and write deadlines).
type smallBuffers struct {
	http.ResponseWriter
	conn   net.Conn
	reader *bufio.Reader
	writes *frameWriter
}

var _ http.Hijacker = (*smallBuffers)(nil)

func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = conn
	reader := brw.Reader
	switch n := reader.Buffered(); {
	case n == 0:
		reader = bufio.NewReaderSize(conn, socketReadBuffer)
	case n <= socketReadBuffer:
		// Bytes the client sent right after its handshake are moved into
		// the small buffer (the library then picks them up from there).
		early, _ := reader.Peek(n)
		reader = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), socketReadBuffer)
		_, _ = reader.Peek(n)
	}
	w.reader, w.writes = reader, &frameWriter{conn: conn, raw: rawSocket(conn)}
	return conn, bufio.NewReadWriter(reader, bufio.NewWriterSize(w.writes, socketWriteBuffer)), nil
}

// socketSet is every open connection, by HTTP server: hijacked connections
// are not the server's to close, so its Shutdown closes them through the
// hook registered here, with 1001 (going away).
type socketSet struct {
	mu      sync.Mutex
	servers map[*http.Server]map[*socketConn]struct{}
	closing map[*http.Server]bool
}

func newSocketSet() *socketSet {
	return &socketSet{servers: map[*http.Server]map[*socketConn]struct{}{}, closing: map[*http.Server]bool{}}
}

// add registers c under the server of r; false when that server is
// shutting down.
func (s *socketSet) add(r *http.Request, c *socketConn) bool {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing[srv] {
		return false
	}
	conns := s.servers[srv]
	if conns == nil {
		conns = map[*socketConn]struct{}{}
		s.servers[srv] = conns
		if srv != nil {
			srv.RegisterOnShutdown(func() { s.shutdown(srv) })
		}
	}
	conns[c] = struct{}{}
	c.server = srv
	return true
}

func (s *socketSet) remove(c *socketConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.servers[c.server], c)
}

func (s *socketSet) shutdown(srv *http.Server) {
	s.mu.Lock()
	s.closing[srv] = true
	conns := make([]*socketConn, 0, len(s.servers[srv]))
	for c := range s.servers[srv] {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(closeGoingAway, "server shutting down", nil)
	}
}

// newSocketTransport is the WebSocket transport of a handler.
func newSocketTransport(keys *auth.Keys, hub *live.Hub, renders *renderer, opts Options) *socketTransport {
	return &socketTransport{
		keys: keys, live: hub, renders: renders, logger: opts.Logger,
		keepAlive: opts.KeepAlive, initTimeout: 10 * time.Second, sockets: newSocketSet(),
	}
}
