//go:build unix

package graph

import (
	"errors"
	"net"
	"syscall"
)

// rawSocket is conn's socket, for waits and writes that go around the
// connection's reads and writes; nil when conn is not a socket (a TLS
// connection, a pipe in tests).
func rawSocket(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// waitReadable blocks until raw has data to read (or is closed) without
// reading any: an idle connection's goroutine waits here, with the stack
// of a poll rather than of the WebSocket library's read. It returns at
// once for no socket (nil).
func waitReadable(raw syscall.RawConn) error {
	if raw == nil {
		return nil
	}
	var peek [1]byte
	return raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Data, the end of the stream, or an error the read will report:
		// anything but "nothing yet" ends the wait.
		return !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR)
	})
}

// writeNonBlocking writes what of p the socket takes at once and returns
// how much: 0 when it takes nothing, fails, or is past its write deadline.
// It never waits for room.
func writeNonBlocking(raw syscall.RawConn, p []byte) int {
	written := 0
	_ = raw.Write(func(fd uintptr) bool {
		for written < len(p) {
			n, err := syscall.Write(int(fd), p[written:])
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil || n <= 0 {
				break
			}
			written += n
		}
		return true // done either way: the caller's writer waits, not this
	})
	return written
}
