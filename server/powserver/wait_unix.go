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
// read buffer. See answerWait.wait.
func waitAnswer(conn net.Conn, pool *inboxes) (*inbox, error) {
	var w answerWait
	return w.wait(conn, pool)
}

// answerWait is the state of one wait for an answer. A session keeps it
// in itself, so that the wait allocates only what the runtime's raw
// connection and the read callback take.
type answerWait struct {
	pool *inboxes
	conn net.Conn
	in   *inbox
	n    int
	err  error
}

// wait is waitAnswer. On a socket the wait and the first read are one:
// each try reads straight into a pooled inbox and gives it back when there
// is nothing yet (the same two reads a plain blocking read makes, no
// readiness peek). On anything else (a PROXY protocol connection, whose
// wrapper may hold buffered bytes) it reads one byte first. On error the
// inbox is nil.
func (w *answerWait) wait(conn net.Conn, pool *inboxes) (*inbox, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return waitAnswerByte(conn, pool)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return waitAnswerByte(conn, pool)
	}
	*w = answerWait{pool: pool, conn: conn}
	err = rc.Read(w.try)
	in, n, rerr := w.in, w.n, w.err
	*w = answerWait{}
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

// try is one read attempt on the socket fd: it reports false when there
// is nothing to read yet, so that the runtime waits for readiness and
// calls it again.
func (w *answerWait) try(fd uintptr) bool {
	w.in = w.pool.get(w.conn)
	for {
		// A read interrupted by a signal (the runtime's preemption
		// signals included) is retried; only "no data yet" may wait.
		w.n, w.err = syscall.Read(int(fd), w.in.buf[:])
		if w.err != syscall.EINTR {
			break
		}
	}
	if w.err == syscall.EAGAIN || w.err == syscall.EWOULDBLOCK {
		w.pool.put(w.in)
		w.in = nil
		return false
	}
	return true
}
