//go:build unix

package graph

import (
	"errors"
	"net"
	"syscall"
)

// rawSocket is conn's socket for writes that must not wait; nil when conn
// is not a socket (a TLS connection, a pipe in tests).
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
