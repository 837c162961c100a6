//go:build !unix

package graph

import (
	"net"
	"syscall"
)

// rawSocket returns nil where sockets cannot be polled or written without
// waiting: reads wait in the library, and every message goes through the
// connection's writer.
func rawSocket(net.Conn) syscall.RawConn { return nil }

func waitReadable(syscall.RawConn) error { return nil }

func writeNonBlocking(syscall.RawConn, []byte) int { return 0 }
