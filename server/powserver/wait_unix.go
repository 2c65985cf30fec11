//go:build unix

package powserver

import (
	"net"
	"syscall"
)

// waitReadable blocks until conn has data (or EOF, an error, or its read
// deadline). A connection that never answers then holds no read buffer: the
// server takes one from its pool only when input arrived. On a socket it
// peeks, reading nothing (n is 0); on anything else (a PROXY protocol
// connection, whose wrapper may hold buffered bytes) it reads one byte into
// first, which the caller must read before the rest.
func waitReadable(conn net.Conn, first *[1]byte) (n int, err error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return conn.Read(first[:])
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return conn.Read(first[:])
	}
	var b [1]byte
	return 0, rc.Read(func(fd uintptr) bool {
		// Peek rather than wait at once: readiness that arrived before
		// this call is not signalled again. Only "no data yet" may wait;
		// a peek interrupted by a signal (the runtime's preemption signals
		// included) is retried, or it could wait for data already there.
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err != syscall.EINTR {
				return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
			}
		}
	})
}
