//go:build unix

package graph

import (
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeNonBlocking takes what the socket has room for and returns at once,
// with a full socket too: the bytes it reports written are exactly the
// ones the peer reads, in order.
func TestWriteNonBlockingNeverWaits(t *testing.T) {
	t.Parallel()
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
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	server := <-accepted
	require.NotNil(t, server)
	defer server.Close()
	require.NoError(t, server.(*net.TCPConn).SetWriteBuffer(4096))
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
