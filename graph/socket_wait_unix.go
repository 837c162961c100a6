//go:build unix

package graph

import (
	"errors"
	"net"
	"syscall"
)

// waitReadable blocks until conn has data to read (or is closed) without
// reading any: an idle connection's goroutine waits here, with the stack
// of a poll rather than of the WebSocket library's read. It returns at
// once for a connection that is not a socket.
func waitReadable(conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil //nolint:nilerr // not a socket after all: the read will wait instead
	}
	var peek [1]byte
	return raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Data, the end of the stream, or an error the read will report:
		// anything but "nothing yet" ends the wait.
		return !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR)
	})
}
