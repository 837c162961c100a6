package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// hijacked tracks connections taken over from the HTTP server (WebSockets):
// Shutdown does not wait for them, so a process that returned right after
// it would cut their close handshake short and clients would see a dropped
// connection instead of the close code.
type hijacked struct {
	open  sync.WaitGroup
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

// track wraps h so that every hijacked connection is counted until closed.
func (t *hijacked) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&trackingWriter{ResponseWriter: w, t: t}, r)
	})
}

// closeHandshake bounds how long a socket's close handshake may take at
// shutdown (the WebSocket library gives up after as long).
const closeHandshake = 5 * time.Second

// wait blocks until every hijacked connection is closed, then closes what
// is left once ctx ends or closeHandshake passes: a socket that never
// finished connection_init has no handshake to wait for.
func (t *hijacked) wait(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, closeHandshake)
	defer cancel()
	done := make(chan struct{})
	go func() {
		t.open.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	t.mu.Lock()
	left := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		left = append(left, c)
	}
	t.mu.Unlock()
	for _, c := range left {
		_ = c.Close()
	}
}

type trackingWriter struct {
	http.ResponseWriter
	t *hijacked
}

var (
	_ http.Hijacker = (*trackingWriter)(nil)
	_ http.Flusher  = (*trackingWriter)(nil)
)

func (w *trackingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be hijacked")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	t := w.t
	t.open.Add(1)
	tracked := &trackedConn{Conn: conn}
	tracked.done = sync.OnceFunc(func() {
		t.mu.Lock()
		delete(t.conns, tracked)
		t.mu.Unlock()
		t.open.Done()
	})
	t.mu.Lock()
	if t.conns == nil {
		t.conns = map[*trackedConn]struct{}{}
	}
	t.conns[tracked] = struct{}{}
	t.mu.Unlock()
	return tracked, brw, nil
}

// Flush keeps Server-Sent Events streaming through the wrapper.
func (w *trackingWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the server's writer.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type trackedConn struct {
	net.Conn
	done func()
}

var _ syscall.Conn = (*trackedConn)(nil)

// SyscallConn lets the WebSocket transport wait for a socket to be
// readable without reading (an idle connection's goroutine then holds the
// stack of a poll).
func (c *trackedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	return sc.SyscallConn()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.done()
	return err
}
