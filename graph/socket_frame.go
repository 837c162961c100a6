package graph

import (
	"encoding/binary"
	"net"
	"sync"
	"syscall"
)

// frameWriter is what a connection's frames are written through. The
// transport writes its messages itself, each as one whole frame in one
// write from a pooled buffer: no write buffer per connection, one system
// call per message, none of the library's locking. The WebSocket library
// still writes its control frames (pongs, the close) through Write, in
// pieces its small buffer flushes; they are held until the frame is whole,
// so the two never interleave inside a frame.
type frameWriter struct {
	conn net.Conn
	// raw is conn's socket for tryMessage; nil: every write may wait.
	raw syscall.RawConn

	mu sync.Mutex
	// partial is a frame of the library's, received in part.
	partial []byte
}

// Write is the library's.
func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		n := frameLength(w.partial)
		if n == 0 || n > len(w.partial) {
			break
		}
		if _, err := w.conn.Write(w.partial[:n]); err != nil {
			return 0, err
		}
		w.partial = w.partial[n:]
	}
	if len(w.partial) == 0 {
		w.partial = nil
	}
	return len(p), nil
}

// writeMessage writes one whole frame of the transport's (see textFrame).
func (w *frameWriter) writeMessage(frame []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.conn.Write(frame)
	return err
}

// tryMessage writes what of one whole frame of the transport's the socket
// takes at once, and returns how much: 0 as well while the library is
// writing (its write may be waiting for room). The caller owes the socket
// the rest of the frame before any other.
func (w *frameWriter) tryMessage(frame []byte) int {
	if w.raw == nil || !w.mu.TryLock() {
		return 0
	}
	defer w.mu.Unlock()
	return writeNonBlocking(w.raw, frame)
}

// frameLength is the length of the server frame at the start of b, header
// included; 0 while its header is incomplete.
func frameLength(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch n := int(b[1] & 0x7f); n {
	case 126:
		if len(b) < 4 {
			return 0
		}
		return 4 + int(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		if len(b) < 10 {
			return 0
		}
		return 10 + int(binary.BigEndian.Uint64(b[2:10]))
	default:
		return 2 + n
	}
}

// frameHeaderRoom is the most a frame header takes: a message is built
// after it, and its header written just before the message.
const frameHeaderRoom = 10

// textFrame turns buf, frameHeaderRoom bytes then a message, into the
// final, unmasked text frame of that message.
func textFrame(buf []byte) []byte {
	n := len(buf) - frameHeaderRoom
	var start int
	switch {
	case n < 126:
		start = frameHeaderRoom - 2
		buf[start+1] = byte(n)
	case n < 1<<16:
		start = frameHeaderRoom - 4
		buf[start+1] = 126
		binary.BigEndian.PutUint16(buf[start+2:], uint16(n))
	default:
		start = 0
		buf[1] = 127
		binary.BigEndian.PutUint64(buf[2:], uint64(n))
	}
	buf[start] = 0x81 // FIN, text
	return buf[start:]
}
