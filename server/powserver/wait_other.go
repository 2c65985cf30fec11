//go:build !unix

package powserver

import "net"

// waitReadable returns at once where peeking at a socket is not supported.
func waitReadable(net.Conn) error { return nil }
