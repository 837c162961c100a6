package graph

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Frames of every header size, built in place and read back by length.
func TestTextFrameHeaders(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		buf := append(make([]byte, frameHeaderRoom), strings.Repeat("x", n)...)
		frame := textFrame(buf)
		require.Equal(t, byte(0x81), frame[0], "n=%d", n)
		require.Equal(t, len(frame), frameLength(frame), "n=%d", n)
		require.Equal(t, strings.Repeat("x", n), string(frame[len(frame)-n:]), "n=%d", n)
	}
}

// The library's frames, written in pieces, reach the connection whole, and
// a message written between two pieces lands after the frame, not inside.
func TestFrameWriterKeepsFramesWhole(t *testing.T) {
	t.Parallel()
	server, client := net.Pipe()
	w := &frameWriter{conn: server}
	pong := []byte{0x8a, 3, 'a', 'b', 'c'}
	message := textFrame(append(make([]byte, frameHeaderRoom), "hello"...))
	got := make(chan []byte, 1)
	go func() {
		var all bytes.Buffer
		buf := make([]byte, 64)
		for all.Len() < len(pong)+len(message) {
			n, err := client.Read(buf)
			if err != nil {
				break
			}
			all.Write(buf[:n])
		}
		got <- all.Bytes()
	}()
	_, err := w.Write(pong[:2])
	require.NoError(t, err)
	require.NotNil(t, w.partial, "half a frame is held")
	done := make(chan error, 1)
	go func() { done <- w.writeMessage(message) }()
	_, err = w.Write(pong[2:])
	require.NoError(t, err)
	require.NoError(t, <-done)
	all := <-got
	require.Len(t, all, len(pong)+len(message))
	// Either order is fine, as long as each frame is whole.
	if bytes.HasPrefix(all, pong) {
		require.Equal(t, message, all[len(pong):])
	} else {
		require.Equal(t, message, all[:len(message)])
		require.Equal(t, pong, all[len(message):])
	}
	require.Nil(t, w.partial)
}
