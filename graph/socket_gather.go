package graph

import (
	"net"
	"sync"
)

// gatherWriter is what the WebSocket library writes to. While the
// transport writes a message (gather), the library's pieces (frame header,
// payload, the flushes of its small buffer) are collected in a buffer
// borrowed for the message and then written with one system call (send);
// otherwise (the library's own control frames: pongs, close) they go
// straight to the connection. So a connection needs no write buffer of its
// own between messages, and a message still costs one write.
type gatherWriter struct {
	conn net.Conn

	mu sync.Mutex
	// buf is set while gathering.
	buf *[]byte
}

var gatherBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (w *gatherWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf == nil {
		return w.conn.Write(p)
	}
	*w.buf = append(*w.buf, p...)
	return len(p), nil
}

// gather starts collecting writes.
func (w *gatherWriter) gather() {
	w.mu.Lock()
	w.buf = gatherBuffers.Get().(*[]byte)
	w.mu.Unlock()
}

// send writes what was collected, in one write, and stops collecting.
func (w *gatherWriter) send() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := w.buf
	w.buf = nil
	_, err := w.conn.Write(*buf)
	*buf = (*buf)[:0]
	gatherBuffers.Put(buf)
	return err
}
