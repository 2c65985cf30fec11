// Package powclient is the client side of a powtcp session: dial, read the
// challenge, solve it, answer, then read the quote (Fetch, from a quote
// service) or take the connection to the service behind a gate (Dial).
// Command client and the developer tools (demo, load generator) share it.
package powclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
)

// Classify names why an exchange failed, for counts and reports: the
// server's error code ("busy", "bad-solution", ...), "no-challenge",
// "timeout" (the context's deadline, or a connection's), "canceled",
// "dial", "closed" (the server hung up), or "error".
func Classify(err error) string {
	var pe *protocol.Error
	var oe *net.OpError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe):
		return string(pe.Code)
	case errors.Is(err, ErrNoChallenge):
		return "no-challenge"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &oe) && oe.Op == "dial":
		return "dial"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return "closed"
	}
	return "error"
}

// Options configure a session. The zero value is a session with
// one solver worker per CPU and no time limit but ctx's.
type Options struct {
	Workers  int            // solver goroutines; GOMAXPROCS when 0
	Dialer   *net.Dialer    // e.g. with LocalAddr set; a zero Dialer when nil
	Progress func(Progress) // called about four times a second during a solve
	// Solve is the solver; hashcash.Solve when nil. Tools plug in others
	// (e.g. one that plays a slower client).
	Solve func(context.Context, string, hashcash.SolveOptions) (hashcash.Result, error)
	// Tamper, when set, changes the solved stamp before it is sent: tests
	// of the server send wrong answers through it (package wrongwork).
	Tamper func(prefix, stamp string) string
}

// Progress is a solve in progress.
type Progress struct {
	Alg      hashcash.Alg // the proof of work the challenge names
	Bits     int
	Attempts uint64 // hashes; for Equi-X, solutions
	Elapsed  time.Duration
}

// Result is one served session.
type Result struct {
	Quote       string
	Alg         hashcash.Alg  // the proof of work the challenge named
	Bits        int           // difficulty the server asked for
	Window      time.Duration // how long the server held the first connection
	Reconnected bool          // the solve outlasted the window: the stamp went on a second connection
	Solve       hashcash.Result
	Total       time.Duration // dial to quote (or, for Dial, to PROCEED)
	LocalAddr   net.Addr
	start       time.Time
}

// ErrNoChallenge: the server did not send a valid challenge.
var ErrNoChallenge = errors.New("no valid challenge")

// Session is one connection to a powtcp server: Challenge, then Answer.
type Session struct {
	conn net.Conn
	r    *protocol.Reader
	stop func() bool
}

// DialSession connects to addr with d (a zero Dialer when nil); ctx bounds
// the dial and every later read and write of the session.
func DialSession(ctx context.Context, addr string, d *net.Dialer) (*Session, error) {
	if d == nil {
		d = &net.Dialer{}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return &Session{conn: conn, r: protocol.NewReader(conn), stop: stop}, nil
}

// Challenge reads the server's first line: a challenge, or a refusal as a
// *protocol.Error.
func (s *Session) Challenge() (protocol.Challenge, error) { return s.r.ReadChallenge() }

// Answer sends stamp and returns the quote, or the refusal as a
// *protocol.Error.
func (s *Session) Answer(stamp string) (string, error) {
	if err := s.present(stamp, false); err != nil {
		return "", err
	}
	return s.reply()
}

// Redeem presents a stamp solved for an earlier challenge (of this
// client's address) on this new session: it sends the SOLUTION at once,
// without waiting for the challenge the server sends first, so that the
// connection is silent for as short a time as possible, then skips that
// challenge and returns the quote.
func (s *Session) Redeem(stamp string) (string, error) {
	if err := s.present(stamp, true); err != nil {
		return "", err
	}
	return s.reply()
}

// present sends stamp; redeemed, it then skips the challenge the server
// sent first, which is not needed.
func (s *Session) present(stamp string, redeemed bool) error {
	if err := protocol.Write(s.conn, protocol.Solution{Stamp: stamp}); err != nil {
		return fmt.Errorf("send solution: %w", err)
	}
	if redeemed {
		if _, err := s.Challenge(); err != nil {
			return err
		}
	}
	return nil
}

// reply reads the server's last line: the quote's text, or its refusal.
func (s *Session) reply() (string, error) {
	q, err := s.r.ReadReply()
	return q.Text, err
}

// LocalAddr is the session's own address.
func (s *Session) LocalAddr() net.Addr { return s.conn.LocalAddr() }

// Close ends the session.
func (s *Session) Close() error {
	s.stop()
	return s.conn.Close()
}

// Fetch runs one exchange against a quote service at addr and returns the
// quote. A refusal by the server is returned as a *protocol.Error
// (errors.As); a gate's PROCEED as protocol.ErrNotQuote; ctx bounds the
// whole exchange.
//
// It solves while the connection is open; when the solve outlasts the
// server's window (less a margin for the way there), it closes the
// connection, finishes solving, and presents the stamp on a new one: a
// challenge is good on any connection from the same address within its
// lifetime, and a busy server holds a silent connection only briefly.
func Fetch(ctx context.Context, addr string, opt Options) (res Result, err error) {
	sess, err := prove(ctx, addr, opt, &res)
	if sess != nil {
		defer sess.Close()
	}
	if err != nil {
		return res, err
	}
	if res.Quote, err = sess.reply(); err != nil {
		return res, ctxErr(ctx, err)
	}
	res.Total = time.Since(res.start)
	return res, nil
}

// Dial proves its work to the gate at addr, as Fetch does (solving off the
// connection and reconnecting when the solve outlasts the window), and
// returns the connection to the service behind it, ready for that
// service's own protocol. ctx bounds the proof only, not the connection
// returned. A refusal is a *protocol.Error (the code "upstream" when the
// gate could not reach its service; the proof is spent all the same); a
// quote service's QUOTE is protocol.ErrNotGate. res, when not nil, gets
// the proof's figures.
func Dial(ctx context.Context, addr string, opt Options, res *Result) (net.Conn, error) {
	if res == nil {
		res = &Result{}
	}
	sess, err := prove(ctx, addr, opt, res)
	if err != nil {
		if sess != nil {
			sess.Close()
		}
		return nil, err
	}
	if _, err := sess.r.ReadProceed(); err != nil {
		sess.Close()
		return nil, ctxErr(ctx, err)
	}
	res.Total = time.Since(res.start)
	// The connection outlives ctx: no deadline from here on.
	sess.stop()
	sess.conn.SetDeadline(time.Time{})
	if early := sess.r.Buffered(); len(early) > 0 {
		return &earlyConn{Conn: sess.conn, early: bytes.Clone(early)}, nil
	}
	return sess.conn, nil
}

// earlyConn is a connection whose first bytes were read already (with the
// PROCEED line): Read gives them first.
type earlyConn struct {
	net.Conn
	early []byte
}

func (c *earlyConn) Read(p []byte) (int, error) {
	if len(c.early) > 0 {
		n := copy(p, c.early)
		c.early = c.early[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite half-closes the connection, when it can be.
func (c *earlyConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// prove dials addr, solves its challenge (off the connection when the
// window is too short) and presents the stamp; it returns the session,
// whose next line is the server's reply, and fills res. The session is
// returned (to be closed) even on error, when there is one.
func prove(ctx context.Context, addr string, opt Options, res *Result) (*Session, error) {
	res.start = time.Now()
	sess, err := DialSession(ctx, addr, opt.Dialer)
	if err != nil {
		return nil, err
	}
	res.LocalAddr = sess.LocalAddr()
	ch, err := sess.Challenge()
	if err != nil {
		return sess, ctxErr(ctx, err)
	}
	prefix, err := hashcash.ParsePrefix(ch.Prefix)
	if err != nil {
		return sess, fmt.Errorf("%w: %w", ErrNoChallenge, err)
	}
	res.Bits, res.Window = prefix.Bits, ch.Window
	res.Alg, _ = prefix.Alg() // an unknown one: the solver says so

	so := hashcash.SolveOptions{Workers: opt.Workers}
	if opt.Progress != nil {
		solveStart := time.Now()
		so.Progress = func(n uint64) {
			opt.Progress(Progress{Alg: res.Alg, Bits: res.Bits, Attempts: n, Elapsed: time.Since(solveStart)})
		}
	}
	type solved struct {
		res hashcash.Result
		err error
	}
	done := make(chan solved, 1)
	solve := opt.Solve
	if solve == nil {
		solve = hashcash.Solve
	}
	go func() {
		r, err := solve(ctx, ch.Prefix, so)
		done <- solved{r, err}
	}()
	window := time.NewTimer(answerBy(ch.Window))
	defer window.Stop()
	var sv solved
	select {
	case sv = <-done:
	case <-window.C:
		sess.Close() // free the server's slot while solving goes on
		sess = nil
		res.Reconnected = true
		sv = <-done
	}
	res.Solve = sv.res
	if sv.err != nil {
		return sess, sv.err
	}
	stamp := res.Solve.Stamp
	if opt.Tamper != nil {
		stamp = opt.Tamper(ch.Prefix, stamp)
	}
	if res.Reconnected {
		if sess, err = DialSession(ctx, addr, opt.Dialer); err != nil {
			return nil, fmt.Errorf("reconnect: %w", err)
		}
	}
	if err := sess.present(stamp, res.Reconnected); err != nil {
		return sess, ctxErr(ctx, err)
	}
	return sess, nil
}

// answerBy is how long after the challenge a solution may still be sent on
// its connection: the window less a margin for the way to the server.
func answerBy(window time.Duration) time.Duration {
	return window - min(window/4, 100*time.Millisecond)
}

// ctxErr prefers the context's error over the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
