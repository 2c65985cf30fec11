package powserver

import (
	"io"
	"sync"
)

// appender is a protocol message that formats itself into a buffer.
type appender interface {
	AppendLine(b []byte) ([]byte, error)
}

// lineBufs is a pool of buffers the server formats its lines in, so that
// writing a challenge or an error allocates nothing in the steady state.
type lineBufs struct{ pool sync.Pool }

// lineBufCap is a buffer's capacity: the longest line fits, and a buffer
// that grew past it (it cannot, lines are capped) is not kept.
const lineBufCap = 1024

// write formats m into a pooled buffer and writes it to w in one call.
// (A method cannot have a type parameter; writeLine can, so that a
// message passed as a value is not boxed on the way.)
func (p *lineBufs) write(w io.Writer, m appender) error { return writeLine(p, w, m) }

func writeLine[M appender](p *lineBufs, w io.Writer, m M) error {
	bp, _ := p.pool.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, lineBufCap)
		bp = &b
	}
	b, err := m.AppendLine((*bp)[:0])
	if err == nil {
		_, err = w.Write(b)
	}
	if cap(b) <= lineBufCap {
		*bp = b[:0]
		p.pool.Put(bp)
	}
	return err
}
