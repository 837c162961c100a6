package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// liveSubscriber is one benchmark client: a raw socket that speaks just
// enough WebSocket (the handshake, masked frames out, unmasked frames in)
// to subscribe and then read. The clients share the machine with the
// servers they measure, so they are kept as cheap as a client can be: no
// goroutine and no library state per connection (see socketReader), and
// messages are scanned for their seq rather than decoded.
type liveSubscriber struct {
	index int
	conn  net.Conn
	// file holds the socket once its reader took it from conn (Linux).
	file *os.File
	// pending is a frame received in part.
	pending []byte
}

// dialLiveSubscriber opens a graphql-transport-ws connection to base,
// authenticates with key and subscribes to the segment.
func dialLiveSubscriber(ctx context.Context, base, key string, segmentID, index int) (*liveSubscriber, error) {
	addr := strings.TrimPrefix(base, "http://")
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &liveSubscriber{index: index, conn: conn}
	if err := s.subscribe(addr, key, segmentID); err != nil {
		_ = conn.Close() // the subscription failed: its error is the one to report
		return nil, err
	}
	return s, nil
}

func (s *liveSubscriber) subscribe(addr, key string, segmentID int) error {
	if err := s.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.conn, "GET /graphql HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n", addr); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	r := bufio.NewReader(s.conn)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	_ = res.Body.Close() // a 101 has no body: this reads nothing
	if res.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("handshake: answered %s", res.Status)
	}
	if err := s.send(map[string]any{"type": "connection_init", "payload": map[string]any{"apiKey": key}}); err != nil {
		return fmt.Errorf("connection_init: %w", err)
	}
	ack, err := readFrame(r)
	if err != nil {
		return fmt.Errorf("connection_init: %w", err)
	}
	if !bytes.Contains(ack, []byte(`"connection_ack"`)) {
		return fmt.Errorf("connection_init: answered %s", ack)
	}
	if err := s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": liveSubscription, "variables": map[string]any{"id": segmentID},
	}}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	// What the server sent beyond the ack is read with the rest.
	if n := r.Buffered(); n > 0 {
		early, _ := r.Peek(n)
		s.pending = bytes.Clone(early)
	}
	return s.conn.SetDeadline(time.Time{})
}

// send writes msg as one masked text frame, as a client must.
func (s *liveSubscriber) send(msg any) error {
	payload, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	frame := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	default:
		frame = append(frame, 0x80|126, byte(n>>8), byte(n))
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	frame = append(frame, mask[:]...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
	_, err = s.conn.Write(frame)
	return err
}

// readFrame reads one whole frame's payload from r.
func readFrame(r *bufio.Reader) ([]byte, error) {
	head, err := r.Peek(2)
	if err != nil {
		return nil, err
	}
	size := 2 + map[byte]int{126: 2, 127: 8}[head[1]&0x7f]
	if head, err = r.Peek(size); err != nil {
		return nil, err
	}
	_, n, _ := frameSize(head)
	frame := make([]byte, size+n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	return frame[size:], nil
}

// frameSize reads a server frame's header: its length and its payload's,
// ok false while the header itself is incomplete.
func frameSize(b []byte) (header, payload int, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	switch n := int(b[1] & 0x7f); n {
	case 126:
		if len(b) < 4 {
			return 0, 0, false
		}
		return 4, int(binary.BigEndian.Uint16(b[2:4])), true
	case 127:
		if len(b) < 10 {
			return 0, 0, false
		}
		return 10, int(binary.BigEndian.Uint64(b[2:10])), true
	default:
		return 2, n, true
	}
}

// received takes bytes read from the socket (the last of which arrived at
// arrived, and were read at read) and records the runs of the whole frames
// among them; it fails on an error message or a close.
func (s *liveSubscriber) received(data []byte, arrived, read time.Time, r *receipts) error {
	s.pending = append(s.pending, data...)
	for {
		header, n, ok := frameSize(s.pending)
		if !ok || len(s.pending) < header+n {
			break
		}
		opcode, payload := s.pending[0]&0x0f, s.pending[header:header+n]
		switch {
		case opcode == 0x8:
			return fmt.Errorf("subscriber %d: the server closed the connection: %q", s.index, payload)
		case opcode == 0x1 && bytes.Contains(payload, []byte(`"type":"next"`)):
			seq, ok := seqOf(payload)
			if !ok {
				return fmt.Errorf("subscriber %d: a message without a seq: %.200s", s.index, payload)
			}
			r.received(seq, s.index, arrived, read)
		case opcode == 0x1 && bytes.Contains(payload, []byte(`"type":"error"`)):
			return fmt.Errorf("subscriber %d: subscription error: %s", s.index, payload)
		}
		s.pending = s.pending[header+n:]
	}
	// Keep what is left at the front, so the buffer does not creep.
	s.pending = append(s.pending[:0:0], s.pending...)
	if len(s.pending) == 0 {
		s.pending = nil
	}
	return nil
}

// seqOf finds the number after the first "seq": in a message.
func seqOf(msg []byte) (int, bool) {
	_, rest, ok := bytes.Cut(msg, []byte(`"seq":`))
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	seq, err := strconv.Atoi(string(rest[:end]))
	return seq, err == nil
}
