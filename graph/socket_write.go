package graph

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// outbound is one queued message: of an operation (its type and payload,
// the head comes from the operation) or of the connection (payload is the
// whole message).
type outbound struct {
	op      *socketOperation
	typ     string
	payload []byte
	// seq is the committed run the message carries (0: none), the resume
	// point once it is written; announced is when the run was announced.
	seq       int
	announced time.Time
}

// Why a message was not queued.
var (
	errQueueFull  = errors.New("the connection's queue is full")
	errConnClosed = errors.New("the connection is closing")
)

// writeBuffers are reused across connections: a buffer is needed only
// while a message is written, and most connections are idle.
var writeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// send queues a connection message (never refused for the queue's bound);
// false once the connection is closing.
func (c *socketConn) send(msg []byte) bool {
	return c.enqueue(outbound{payload: msg}, false) == nil
}

// enqueue queues m; bounded messages are refused once the queue holds the
// connection's limit. A message that finds nothing ahead of it is written
// at once from the caller's goroutine, when the socket takes it without
// waiting: most messages then cost no goroutine and no write deadline.
func (c *socketConn) enqueue(m outbound, bounded bool) error {
	c.mu.Lock()
	if c.closeCode != 0 || c.ended {
		c.mu.Unlock()
		return errConnClosed
	}
	if bounded && len(c.queue) >= c.limit {
		c.mu.Unlock()
		return errQueueFull
	}
	c.putAndUnlock(m)
	return nil
}

// putAndUnlock queues m, or writes it now when nothing is ahead of it;
// c.mu is held on entry and released.
func (c *socketConn) putAndUnlock(m outbound) {
	if c.writing || c.writes.raw == nil {
		c.queue = append(c.queue, m)
		c.startWriterLocked()
		c.mu.Unlock()
		return
	}
	// Writing, until writeNow is done: what is enqueued meanwhile waits
	// behind m, and a close waits for writeNow to hand over.
	c.writing = true
	if m.op != nil && m.seq != 0 {
		m.op.resume = m.seq
	}
	c.mu.Unlock()
	c.writeNow(m)
}

// writeNow writes m without waiting for room. A message the socket takes
// none of goes to the writer, first; one it takes part of is the frame
// writer's to finish, and the writer's to wait for that.
func (c *socketConn) writeNow(m outbound) {
	buf := writeBuffers.Get().(*[]byte)
	frame := appendFrame((*buf)[:frameHeaderRoom], m)
	*buf = frame
	taken, owes := c.writes.tryMessage(textFrame(frame))
	writeBuffers.Put(buf)
	if taken {
		c.sent(m)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing = false
	// A message not begun is dropped by a close, as closeWith drops the
	// queue.
	if !taken && !c.ended && c.closeCode == 0 {
		c.queue = slices.Insert(c.queue, 0, m)
	}
	if len(c.queue) > 0 || c.closeCode != 0 || owes {
		// m or the rest of its frame, messages queued meanwhile, or a close
		// to make.
		c.startWriterLocked()
	}
}

// enqueueWait queues m, waiting while the queue is full.
func (c *socketConn) enqueueWait(ctx context.Context, m outbound) error {
	for {
		c.mu.Lock()
		if c.closeCode != 0 || c.ended {
			c.mu.Unlock()
			return errConnClosed
		}
		if len(c.queue) < c.limit {
			c.putAndUnlock(m)
			return nil
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *socketConn) startWriterLocked() {
	if !c.writing {
		c.writing = true
		go c.write()
	}
}

// write sends the queued messages and exits once the queue is empty: an
// idle connection has no writer. When the server closes the connection,
// it writes what closeWith left, then does the close handshake.
func (c *socketConn) write() {
	buf := writeBuffers.Get().(*[]byte)
	defer writeBuffers.Put(buf)
	// One deadline for what is queued now, rather than a context per
	// message: most runs of the writer write one message.
	_ = c.netConn.SetWriteDeadline(time.Now().Add(socketWriteTimeout))
	if err := c.writes.finish(); err != nil {
		c.writeFailed()
		return
	}
	for {
		c.mu.Lock()
		if c.ended && c.closeCode == closeNormal && len(c.queue) == 0 {
			c.writing = false
			c.mu.Unlock()
			_ = c.ws.CloseNow()
			return
		}
		if len(c.queue) == 0 {
			code, reason := c.closeCode, c.closeReason
			if code == 0 {
				c.writing = false
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
			c.readLock.Lock()
			_ = c.ws.Close(websocket.StatusCode(code), reason)
			c.readLock.Unlock()
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			c.end()
			return
		}
		m := c.queue[0]
		c.queue[0] = outbound{}
		c.queue = c.queue[1:]
		if len(c.queue) == 0 {
			c.queue = nil // an idle connection holds no queue
		}
		if c.room != nil && len(c.queue) < c.limit {
			close(c.room)
			c.room = nil
		}
		if m.op != nil && m.seq != 0 {
			m.op.resume = m.seq
		}
		c.mu.Unlock()

		frame := appendFrame((*buf)[:frameHeaderRoom], m)
		*buf = frame
		if err := c.writes.writeMessage(textFrame(frame)); err != nil {
			c.writeFailed()
			return
		}
		c.sent(m)
	}
}

// sent counts m, once written, in the live metrics when it is an
// operation's.
func (c *socketConn) sent(m outbound) {
	if m.op != nil && c.t.live != nil {
		c.t.live.Sent(m.announced)
	}
}

// writeFailed ends the connection after a failed write: the writer exits.
func (c *socketConn) writeFailed() {
	c.mu.Lock()
	c.writing = false
	c.mu.Unlock()
	_ = c.ws.CloseNow()
	c.end()
}

// appendFrame appends m's message to buf.
func appendFrame(buf []byte, m outbound) []byte {
	if m.op != nil {
		return appendMessage(buf, m.op.head, m.typ, m.payload)
	}
	return append(buf, m.payload...)
}

// closeWith closes the connection from the server's side with code and
// reason, after last (a final message) when there is one: what is still
// queued is dropped. The handshake is bounded: a client that stopped
// reading cannot take the close frame, and its connection is dropped.
func (c *socketConn) closeWith(code int, reason string, last *outbound) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeCode != 0 || c.ended {
		return
	}
	c.closeCode, c.closeReason = code, truncateReason(reason)
	c.queue = nil
	if last != nil {
		c.queue = []outbound{*last}
	}
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
	c.timers = append(c.timers, time.AfterFunc(2*socketCloseGrace, func() { _ = c.ws.CloseNow() }))
	c.startWriterLocked()
}

// truncateReason keeps a close reason within the 123 bytes a close frame
// allows.
func truncateReason(reason string) string {
	if len(reason) <= 123 {
		return reason
	}
	return strings.ToValidUTF8(reason[:123], "")
}
