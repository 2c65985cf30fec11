package powserver

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/quotes"
)

// A Handler serves a connection whose client proved its work: its stamp
// was verified and spent. A Handler may also implement Ready() bool (the
// server is ready only while it is, as /readyz reports) and CloseAll()
// (Shutdown calls it when its deadline passes, to end what the handler
// holds, such as detached tunnels). The server calls ServeProven on the session's
// goroutine, with the connection's write deadline cleared and its read
// deadline still the answer's; the handler sets the deadlines it needs.
// It owns the connection until it returns, and the server closes it then.
// A nil error counts the session as "served"; an error counts it as
// "gone" (the client did not get the service) and is logged at debug
// level with the session.
//
// The quote service is one Handler (QuoteHandler, the default); a Go
// program embeds the gate in its own process with a Handler of its own.
type Handler interface {
	ServeProven(p *Proven) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(p *Proven) error

// ServeProven calls f(p).
func (f HandlerFunc) ServeProven(p *Proven) error { return f(p) }

// Proven is a connection whose client proved its work, as a Handler gets
// it. It is valid until ServeProven returns.
type Proven struct {
	// Conn is the client's connection, as the listener returned it (a
	// *net.TCPConn on a TCP listener, so io.Copy to another TCP
	// connection can use splice).
	Conn net.Conn
	// Client is the client's key: its IPv4 address or IPv6 /64, taken
	// from a trusted PROXY header when the listener reads one; the zero
	// Addr for a unix socket's clients.
	Client netip.Addr
	// Bits is the difficulty the client's stamp proved.
	Bits int
	// WriteTimeout is the server's deadline for one write to a client.
	WriteTimeout time.Duration

	early []byte // what the client sent after its answer, read with it
	ss    *session
}

// Detach frees the connection's handshake slot: from now on the server no
// longer counts it against MaxConns and the client's MaxConnsPerIP, nor
// closes it at Shutdown's deadline. A handler that holds the connection for
// long (a tunnel) detaches it so that open tunnels never starve new
// handshakes of slots, and bounds what it holds itself; one whose work is
// short (a quote) need not. The connection stays the handler's until
// ServeProven returns, and the server closes it then.
func (p *Proven) Detach() {
	if p.ss != nil {
		p.ss.release()
	}
}

// Buffered returns what the client sent after its solution line and the
// server already read: a client must wait for the server's reply before
// it sends more, so this is usually empty, and a handler that relays the
// connection should send it on (or refuse it) before reading Conn. It is
// valid until ServeProven returns.
func (p *Proven) Buffered() []byte { return p.early }

// QuoteHandler hands each proven client a random quote from c, as one
// QUOTE line: the quote service, and the server's default handler. The
// lines are formatted once, here.
func QuoteHandler(c *quotes.Collection) Handler { return newQuoteHandler(c, nil) }

type quoteHandler struct {
	lines  atomic.Pointer[quoteLines] // swapped whole by set
	served prometheus.Counter         // quotes written; nil: not counted
}

// quoteLines are a collection's QUOTE lines.
type quoteLines struct {
	lines [][]byte // a QUOTE line per quote
	errs  []error  // why a quote has no line (the collection's checks make it none)
}

func newQuoteHandler(c *quotes.Collection, served prometheus.Counter) *quoteHandler {
	h := &quoteHandler{served: served}
	h.set(c)
	return h
}

// set makes c the collection served from now on.
func (h *quoteHandler) set(c *quotes.Collection) {
	all := c.All()
	ql := &quoteLines{lines: make([][]byte, len(all)), errs: make([]error, len(all))}
	for i, q := range all {
		ql.lines[i], ql.errs[i] = protocol.Quote{Text: q.String()}.Line()
	}
	h.lines.Store(ql)
}

func (h *quoteHandler) ServeProven(p *Proven) error {
	ql := h.lines.Load()
	i := rand.IntN(len(ql.lines))
	if ql.errs[i] != nil {
		return ql.errs[i]
	}
	p.Conn.SetWriteDeadline(time.Now().Add(p.WriteTimeout))
	if _, err := p.Conn.Write(ql.lines[i]); err != nil {
		return err
	}
	if h.served != nil {
		h.served.Inc()
	}
	return nil
}
