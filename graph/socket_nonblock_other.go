//go:build !unix

package graph

import (
	"net"
	"syscall"
)

// rawSocket returns nil where sockets cannot be written without waiting:
// every message goes through the connection's writer.
func rawSocket(net.Conn) syscall.RawConn { return nil }

func writeNonBlocking(syscall.RawConn, []byte) int { return 0 }
