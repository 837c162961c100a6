//go:build !unix

package graph

import "net"

// waitReadable returns at once where sockets cannot be polled without a
// read: the read waits instead.
func waitReadable(net.Conn) error { return nil }
