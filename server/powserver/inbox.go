package powserver

import (
	"io"
	"net"
	"sync"

	"github.com/powtcp/powtcp/protocol"
)

// inboxSize is how much of the answer the first read takes. A SOLUTION
// line is about 130 bytes; the rest of a longer one (up to
// protocol.MaxLineLen) is read from the connection.
const inboxSize = 512

// An inbox is where an answer is read, taken from a pool only once the
// answer has started to arrive: a connection that holds its handshake open
// and silent costs no read buffer. The first read goes into buf (see
// waitAnswer); r reads the line from what it holds, then from conn.
type inbox struct {
	buf     [inboxSize]byte
	pending []byte // what of buf r has not read yet
	conn    net.Conn
	r       *protocol.Reader // reads from the inbox itself
}

// Read gives what the first read took, then reads conn.
func (b *inbox) Read(p []byte) (int, error) {
	if len(b.pending) > 0 {
		n := copy(p, b.pending)
		b.pending = b.pending[n:]
		return n, nil
	}
	return b.conn.Read(p)
}

// inboxes is a pool of inboxes.
type inboxes struct{ pool sync.Pool }

func (p *inboxes) get(conn net.Conn) *inbox {
	b, _ := p.pool.Get().(*inbox)
	if b == nil {
		b = &inbox{}
		b.r = protocol.NewReader(b)
	}
	b.conn = conn
	b.r.Reset(b)
	return b
}

// hold records that buf[:n] holds the answer's first n bytes.
func (b *inbox) hold(n int) { b.pending = b.buf[:n] }

func (p *inboxes) put(b *inbox) {
	b.pending, b.conn = nil, nil
	p.pool.Put(b)
}

// waitAnswerByte is waitAnswer for connections that are not plain sockets:
// it waits in a one-byte read, so that a silent connection holds no buffer,
// and puts that byte in an inbox.
func waitAnswerByte(conn net.Conn, pool *inboxes) (*inbox, error) {
	var first [1]byte
	n, err := conn.Read(first[:])
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return nil, err
	}
	in := pool.get(conn)
	in.buf[0] = first[0]
	in.hold(1)
	return in, nil // an error with the byte shows again on the next read
}
