//go:build !unix

package powserver

import "net"

// waitReadable reads the first byte of the answer into first where peeking
// at a socket is not supported; see wait_unix.go.
func waitReadable(conn net.Conn, first *[1]byte) (int, error) { return conn.Read(first[:]) }
