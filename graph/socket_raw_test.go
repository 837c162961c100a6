//go:build unix

package graph

import (
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// tcpPair is a connected pair of loopback sockets, the server's with a
// small send buffer.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			accepted <- conn
		}
		close(accepted)
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	server = <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { _ = server.Close() })
	require.NoError(t, server.(*net.TCPConn).SetWriteBuffer(4096))
	return server, client
}

// writeNonBlocking takes what the socket has room for and returns at once,
// with a full socket too: the bytes it reports written are exactly the
// ones the peer reads, in order.
func TestWriteNonBlockingNeverWaits(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	raw := rawSocket(server)
	require.NotNil(t, raw)

	// Nobody reads: the socket fills, and a write then takes nothing.
	// Byte k of the stream is k mod 251: a byte lost, repeated or out of
	// place shows.
	var sent []byte
	for i := 0; ; i++ {
		require.Less(t, i, 10_000, "the socket never filled")
		p := make([]byte, 16<<10)
		for j := range p {
			p[j] = byte((len(sent) + j) % 251)
		}
		n := writeNonBlocking(raw, p)
		sent = append(sent, p[:n]...)
		if n == 0 {
			break
		}
	}
	require.NoError(t, server.Close())
	got, err := io.ReadAll(client)
	require.NoError(t, err)
	require.Equal(t, sent, got)
}

// A frame the socket takes only part of at once is finished before
// anything else goes out: the library's pong, written meanwhile, follows
// the whole frame, and a frame tried while one is unfinished is not taken.
func TestFrameWriterFinishesAFrameBegun(t *testing.T) {
	t.Parallel()
	server, client := tcpPair(t)
	w := &frameWriter{conn: server, raw: rawSocket(server)}
	large := textFrame(append(make([]byte, frameHeaderRoom), bytes.Repeat([]byte("x"), 1<<20)...))
	taken, owes := w.tryMessage(large)
	require.True(t, taken)
	require.True(t, owes, "a 1 MiB frame fits a 4 KiB socket buffer only in part")
	small := textFrame(append(make([]byte, frameHeaderRoom), "next"...))
	taken, owes = w.tryMessage(small)
	require.False(t, taken, "nothing is written inside an unfinished frame")
	require.True(t, owes)

	pong := []byte{0x8a, 3, 'a', 'b', 'c'}
	wrote := make(chan error, 1)
	go func() {
		if _, err := w.Write(pong); err != nil {
			wrote <- err
			return
		}
		wrote <- w.writeMessage(small)
	}()
	want := bytes.Join([][]byte{large, pong, small}, nil)
	got := make([]byte, len(want))
	_, err := io.ReadFull(client, got)
	require.NoError(t, err)
	require.NoError(t, <-wrote)
	require.True(t, bytes.Equal(want, got), "frames interleaved")
	require.NoError(t, w.finish(), "nothing is left to finish")
}
