package graph

import (
	"bytes"
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
// and a frame of the transport's that the socket took only part of
// without waiting (tryMessage) is finished before any other write, so
// frames never interleave.
type frameWriter struct {
	conn net.Conn
	// raw is conn's socket (see rawSocket), for tryMessage and the
	// connection's waits for data; nil: every write may wait.
	raw syscall.RawConn

	mu sync.Mutex
	// partial is a frame of the library's, received in part.
	partial []byte
	// rest is what tryMessage could not write of its frame.
	rest []byte
}

// Write is the library's.
func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.finishLocked(); err != nil {
		return 0, err
	}
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

// writeMessage writes one whole frame of the transport's (see textFrame),
// after the rest of the one before, if any.
func (w *frameWriter) writeMessage(frame []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.finishLocked(); err != nil {
		return err
	}
	_, err := w.conn.Write(frame)
	return err
}

// finish writes the rest of the frame tryMessage began, waiting for room.
func (w *frameWriter) finish() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.finishLocked()
}

func (w *frameWriter) finishLocked() error {
	if w.rest == nil {
		return nil
	}
	rest := w.rest
	w.rest = nil
	_, err := w.conn.Write(rest)
	return err
}

// tryMessage writes one whole frame of the transport's if the socket takes
// at least its first byte at once: taken is then true, and owes is true
// when the socket took only part of it, the rest kept for the next write
// (or finish) to write first. Nothing is written while another write is
// under way (it may be waiting for room) or a frame is unfinished.
func (w *frameWriter) tryMessage(frame []byte) (taken, owes bool) {
	if w.raw == nil || !w.mu.TryLock() {
		return false, false
	}
	defer w.mu.Unlock()
	if w.rest != nil {
		return false, true
	}
	n := writeNonBlocking(w.raw, frame)
	if n == 0 {
		return false, false
	}
	if n < len(frame) {
		w.rest = bytes.Clone(frame[n:])
	}
	return true, w.rest != nil
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
