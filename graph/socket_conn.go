package graph

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"

	"github.com/pulse-analytics/pulse/internal/auth"
)

// socketConn is one accepted WebSocket connection. Its goroutine (serve)
// reads the client's messages; what the server sends goes through its
// queue (see socket_write.go).
type socketConn struct {
	t    *socketTransport
	exec graphql.GraphExecutor
	ws   *websocket.Conn
	// netConn is the connection under ws (for write deadlines); reader is
	// what ws reads from, writes what it and the transport write to (and
	// holds the socket the connection waits for data on).
	netConn net.Conn
	reader  *bufio.Reader
	writes  *frameWriter
	proto   *socketProtocol
	server  *http.Server
	// ctx is the connection's: scoped to the key's project and role once
	// connection_init is accepted.
	ctx   context.Context
	limit int
	// unwatch ends the watch that closes the connection when its key is
	// revoked; nil before connection_init is accepted.
	unwatch func()

	// readLock keeps a close handshake's reads apart from buffered.
	readLock sync.Mutex

	mu  sync.Mutex
	ops map[string]*socketOperation
	// inbox holds the messages read and not yet handled; handling is set
	// while a goroutine handles them.
	inbox    [][]byte
	handling bool
	// The outbound queue and its writer; see socket_write.go.
	queue   []outbound
	writing bool
	room    chan struct{}
	// closeCode is set once the server closes the connection: nothing more
	// is queued, the writer sends what closeWith left and then the close.
	closeCode   int
	closeReason string
	ended       bool
	timers      []*time.Timer
}

// serve waits for connection_init, then hands the connection over to a
// goroutine of its own: authenticating may have grown this one's stack
// deep (a key looked up in the database), and an idle connection's reader
// should hold as little as it needs.
func (c *socketConn) serve() {
	if !c.init() {
		c.end()
		return
	}
	go c.readLoop()
}

// readLoop reads the client's messages until the connection ends. Between
// messages it only waits for data (waitReadable); each message is read by
// a goroutine of its own and handled by another that runs while messages
// are pending (see handle). The one goroutine an idle connection keeps has
// the shallow stack of a poll, not the deep ones that reading, decoding
// and dispatching grow.
func (c *socketConn) readLoop() {
	defer c.end()
	for {
		if c.buffered() == 0 {
			if err := waitReadable(c.writes.raw); err != nil {
				return
			}
		}
		read := make(chan error, 1)
		go func() { read <- c.readOne() }()
		if err := <-read; err != nil {
			return
		}
	}
}

// buffered is what the library read ahead of the last message (waiting
// for the socket would miss it). A close handshake reads too: closeWith's
// holds readLock.
func (c *socketConn) buffered() int {
	c.readLock.Lock()
	defer c.readLock.Unlock()
	return c.reader.Buffered()
}

// readOne reads one message into the inbox. No deadline: a read ends when
// the connection is closed, by the client or by closeWith.
func (c *socketConn) readOne() error {
	_, data, err := c.ws.Read(context.Background())
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inbox = append(c.inbox, data)
	if !c.handling {
		c.handling = true
		go c.handle()
	}
	return nil
}

// handle handles the received messages in order, and exits once there are
// none left.
func (c *socketConn) handle() {
	for {
		c.mu.Lock()
		if len(c.inbox) == 0 || c.ended {
			c.inbox, c.handling = nil, false
			c.mu.Unlock()
			return
		}
		data := c.inbox[0]
		c.inbox[0] = nil
		c.inbox = c.inbox[1:]
		c.mu.Unlock()
		msg, ok := c.decode(data)
		if !ok {
			continue
		}
		switch msg.Type {
		case c.proto.subscribe:
			c.start(msg.ID, msg.Payload)
		case c.proto.stop:
			c.stop(msg.ID)
		case "ping":
			c.send(pong(msg.Payload))
		case "pong":
		case "connection_terminate":
			c.closeWith(closeNormal, "terminated", nil)
		case "connection_init":
			c.refuse(closeTooManyInits, "Too many initialisation requests")
		default:
			c.refuse(closeBadRequest, fmt.Sprintf("unexpected message %q", msg.Type))
		}
	}
}

// read returns the next client message; false when the connection ended
// or the message was not one (the connection is then being closed).
func (c *socketConn) read() (clientMessage, bool) {
	_, data, err := c.ws.Read(context.Background())
	if err != nil {
		return clientMessage{}, false
	}
	return c.decode(data)
}

// decode parses a client message; one that is not closes the connection.
func (c *socketConn) decode(data []byte) (clientMessage, bool) {
	var msg clientMessage
	if err := json.Unmarshal(data, &msg); err != nil || msg.Type == "" {
		c.refuse(closeBadRequest, "invalid message")
		return clientMessage{}, false
	}
	return msg, true
}

// init waits for connection_init, authenticates its key and acknowledges.
func (c *socketConn) init() bool {
	timeout := time.AfterFunc(c.t.initTimeout, func() {
		c.refuse(closeInitTimeout, "Connection initialisation timeout")
	})
	msg, ok := c.read()
	if !timeout.Stop() || !ok {
		return false
	}
	switch msg.Type {
	case "connection_init":
	case "connection_terminate":
		c.closeWith(closeNormal, "terminated", nil)
		return false
	case c.proto.subscribe:
		c.refuse(closeUnauthorized, "Unauthorized")
		return false
	default:
		c.refuse(closeBadRequest, fmt.Sprintf("unexpected message %q", msg.Type))
		return false
	}
	scoped, unwatch, err := c.authenticate(msg.Payload)
	if err != nil {
		c.refuse(closeForbidden, err.Error())
		return false
	}
	c.mu.Lock()
	c.ctx, c.unwatch = scoped, unwatch
	ended := c.ended
	c.mu.Unlock()
	if ended {
		// Closed meanwhile (the key revoked already): end has run
		// without the watch to stop.
		unwatch()
		return false
	}
	c.send(messageAck)
	if c.proto.legacy && c.t.keepAlive > 0 {
		c.send(messageKeepAlive)
		c.keepAliveEvery(c.t.keepAlive)
	}
	return true
}

// authenticate scopes the connection by the key in the connection_init
// payload: "Authorization": "Bearer <key>" (as graphql-ws clients send
// headers) or "apiKey": "<key>". Until unwatch, the key's revocation
// closes the connection with 4403, as a refused key does: a revoked key
// stops working everywhere, open subscriptions included.
func (c *socketConn) authenticate(payload json.RawMessage) (scoped context.Context, unwatch func(), err error) {
	var fields map[string]any
	if len(payload) > 0 {
		_ = json.Unmarshal(payload, &fields) // not an object: no key
	}
	text := func(key string) string { s, _ := fields[key].(string); return s }
	secret := text("apiKey")
	header := text("Authorization")
	if header == "" {
		header = text("authorization")
	}
	if bearer, ok := auth.BearerToken(header); ok {
		secret = bearer
	}
	if secret == "" {
		return nil, nil, errors.New(`connection_init must carry an API key: {"Authorization": "Bearer <key>"}`)
	}
	scoped, unwatch, err = c.t.keys.ScopeWatched(c.ctx, secret, func() {
		c.refuse(closeForbidden, auth.ErrRevoked.Error())
	})
	if err != nil {
		return nil, nil, errors.New("unknown or revoked API key")
	}
	return scoped, unwatch, nil
}

// keepAliveEvery sends graphql-ws's "ka" message at each interval, from a
// timer rather than a goroutine.
func (c *socketConn) keepAliveEvery(interval time.Duration) {
	var timer *time.Timer
	timer = time.AfterFunc(interval, func() {
		if c.send(messageKeepAlive) {
			timer.Reset(interval)
		}
	})
	c.mu.Lock()
	c.timers = append(c.timers, timer)
	c.mu.Unlock()
}

// refuse closes the connection for a protocol reason: graphql-ws is told
// with a connection_error message first.
func (c *socketConn) refuse(code int, reason string) {
	var last *outbound
	if c.proto.legacy {
		last = &outbound{payload: connectionError(reason)}
		if code != closeForbidden {
			code = closeProtocolError
		}
	}
	c.closeWith(code, reason, last)
}

// end releases everything the connection holds once it is over.
func (c *socketConn) end() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	if c.closeCode == 0 {
		c.closeCode = closeNormal
	}
	ops := c.ops
	c.ops = map[string]*socketOperation{}
	c.queue = nil
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
	timers := c.timers
	handshake := c.writing // the writer owns the close handshake
	unwatch := c.unwatch
	c.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
	for _, t := range timers {
		t.Stop()
	}
	for _, op := range ops {
		op.close()
	}
	c.t.sockets.remove(c)
	if !handshake {
		_ = c.ws.CloseNow()
	}
}
