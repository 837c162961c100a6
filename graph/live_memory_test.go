package graph_test

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// idleSubscribers is how many subscribers the memory test opens: enough
// that what one costs stands out from the noise of the process.
const idleSubscribers = 400

// TestIdleSubscriberMemory measures what an idle subscriber costs the
// server: heap and goroutine stacks, after garbage collection, per
// subscriber, with a loose bound (the exact figure, resident memory with
// thousands of subscribers, is the benchmark's: docs/BENCHMARKS.md). The
// clients are raw sockets that speak just enough of the protocol to
// subscribe and then never read, so they hold no goroutine and nearly no
// memory of their own in this process.
//
// It does not run in parallel: it reads the process's memory, which other
// tests would move.
func TestIdleSubscriberMemory(t *testing.T) {
	b := setupLive(t, 0)
	seg := b.staticSegment(t, b.project, "idle", 0)
	addr := strings.TrimPrefix(b.server.URL, "http://")
	before := liveMemory()
	conns := make([]net.Conn, idleSubscribers)
	for i := range conns {
		conns[i] = rawSubscriber(t, addr, b.project.Read, seg)
	}
	b.waitSubscribers(t, idleSubscribers)
	after := liveMemory()
	perSubscriber := float64(after.total()-before.total()) / idleSubscribers
	t.Logf("per idle subscriber: %.1f KiB (heap %.1f KiB, stacks %.1f KiB)", perSubscriber/1024,
		float64(after.heap-before.heap)/idleSubscribers/1024, float64(after.stacks-before.stacks)/idleSubscribers/1024)
	require.Less(t, perSubscriber, 16.0*1024, "an idle subscriber costs more than it should")
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	b.waitSubscribers(t, 0)
}

type memory struct{ heap, stacks uint64 }

func (m memory) total() uint64 { return m.heap + m.stacks }

// liveMemory is the heap in use and the goroutine stacks, after two
// collections (the second frees what the first left to finalizers) and
// time for the goroutines that just ended to be gone.
func liveMemory() memory {
	var stats runtime.MemStats
	for range 3 {
		runtime.GC()
		time.Sleep(20 * time.Millisecond) //nolint:forbidigo // lets exiting goroutines finish before the reading; not synchronisation of the code under test
	}
	runtime.ReadMemStats(&stats)
	return memory{heap: stats.HeapAlloc, stacks: stats.StackInuse}
}

// rawSubscriber opens a graphql-transport-ws connection by hand, subscribes
// to the segment and returns the socket, from which it never reads again.
func rawSubscriber(t *testing.T, addr, key, segmentID string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = fmt.Fprintf(conn, "GET /graphql HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n", addr)
	require.NoError(t, err)
	r := bufio.NewReader(conn)
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close()) // a 101 has no body: this reads nothing
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	writeFrame(t, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"apiKey": key}})
	require.Contains(t, readFrame(t, r), "connection_ack")
	writeFrame(t, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($id: ID!) { segmentMembershipChanged(segmentId: $id) { seq } }`, "variables": map[string]any{"id": segmentID},
	}})
	require.NoError(t, conn.SetDeadline(time.Time{}))
	require.Zero(t, r.Buffered(), "nothing more was sent")
	return conn
}

// writeFrame sends msg as one masked text frame, as a client must.
func writeFrame(t *testing.T, w io.Writer, msg any) {
	t.Helper()
	payload, err := json.Marshal(msg)
	require.NoError(t, err)
	frame := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	default:
		frame = append(frame, 0x80|126, byte(n>>8), byte(n))
	}
	mask := [4]byte{1, 2, 3, 4}
	frame = append(frame, mask[:]...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
	_, err = w.Write(frame)
	require.NoError(t, err)
}

// readFrame reads one unmasked server frame's payload.
func readFrame(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var header [2]byte
	_, err := io.ReadFull(r, header[:])
	require.NoError(t, err)
	n := int(header[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		_, err = io.ReadFull(r, ext[:])
		n = int(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		_, err = io.ReadFull(r, ext[:])
		n = int(binary.BigEndian.Uint64(ext[:]))
	}
	require.NoError(t, err)
	payload := make([]byte, n)
	_, err = io.ReadFull(r, payload)
	require.NoError(t, err)
	return string(payload)
}
