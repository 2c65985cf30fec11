//go:build unix

package powserver

import (
	"io"
	"net"
	"syscall"
)

// waitAnswer blocks until conn has data (or EOF, an error, or its read
// deadline) and returns an inbox holding the first bytes, taken from
// pool only once they are there: a connection that never answers holds no
// read buffer. On a socket the wait and the first read are one: each try
// reads straight into a pooled inbox and gives it back when there is
// nothing yet (the same two reads a plain blocking read makes, no readiness
// peek). On anything else (a PROXY protocol connection, whose wrapper may
// hold buffered bytes) it reads one byte first. On error the inbox is nil.
func waitAnswer(conn net.Conn, pool *inboxes) (*inbox, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return waitAnswerByte(conn, pool)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return waitAnswerByte(conn, pool)
	}
	var (
		in   *inbox
		n    int
		rerr error
	)
	err = rc.Read(func(fd uintptr) bool {
		in = pool.get(conn)
		for {
			// A read interrupted by a signal (the runtime's preemption
			// signals included) is retried; only "no data yet" may wait.
			n, rerr = syscall.Read(int(fd), in.buf[:])
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK {
			pool.put(in)
			in = nil
			return false
		}
		return true
	})
	switch {
	case err == nil && rerr == nil && n == 0:
		err = io.EOF
	case err == nil && rerr != nil:
		err = rerr
	}
	if err != nil {
		if in != nil {
			pool.put(in)
		}
		return nil, err
	}
	in.hold(n)
	return in, nil
}
