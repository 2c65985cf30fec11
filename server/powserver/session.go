package powserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"time"

	"go.uber.org/zap"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
)

// session is one connection's life on the server, from accept to close.
// Its methods run it in order:
//
//   - serve, on the connection's first goroutine: the PROXY header, when
//     the listener reads one (a plain TCP connection skips serve: its
//     begin runs on the accept loop that accepted it);
//   - begin: admission and the challenge;
//   - await, on a fresh goroutine: the wait for the answer, its check, the
//     Handler once the proof checked out, the outcome;
//   - close: the slot released, the connection closed.
//
// A session belongs to the goroutine running it; admission may close its
// connection from outside (to make room, or at shutdown) and says so
// through the slot. What a session needs on the way lives in it, so that
// the steady state allocates little beyond the session itself (see
// BenchmarkSession).
type session struct {
	srv      *Server
	conn     net.Conn
	admitted bool       // slot is admission's until close
	slot     slot       // the session's place in admission's table
	price    price      // what the challenge asked
	start    time.Time  // when admission took it
	wait     answerWait // the wait for the answer's first bytes
	proven   Proven     // what the Handler gets
}

// serve runs on a goroutine of the connection's own when the listener
// reads a PROXY protocol header (command server's -proxy-protocol), as
// that read may wait: a zero-length read makes the wrapper read the header,
// under its own deadline, and reports a missing or refused header. Then
// begin.
func (ss *session) serve() {
	defer ss.srv.wg.Done() // Serve added it
	if _, err := ss.conn.Read(nil); err != nil {
		ss.srv.metrics.refusal("proxy_header").Inc()
		ss.srv.warn.warn("connection refused: proxy_header", err)
		ss.conn.Close()
		return
	}
	ss.begin()
}

// begin runs admission and sends the challenge, then hands the rest of
// the session to await on a new goroutine; a refused connection is told
// why and closed here. For a plain TCP connection begin runs on the
// accept loop that accepted it (Serve runs one per CPU, up to 4), which
// saves a goroutine per session and makes a refusal cost no goroutine at
// all: nothing in it waits (admission takes a mutex for a few map
// operations; the challenge's write goes to a fresh socket's empty send
// buffer, and its deadline bounds it all the same).
//
// await runs on a goroutine of its own, not on the one that minted the
// challenge: that one's stack grew to 4 KiB (crypto/rand and the HMAC are
// each over 1 KiB deep), and a connection that stays silent would hold
// that stack for its whole window. A fresh goroutine starts on the
// runtime's usual 2 KiB stack and waits on it; only an answer makes it
// grow. (Per silent handshake: 6.1 KB of server RSS before, 4.1 KB after;
// BENCHMARKS.md.)
//
// A panic ends its session only: the connection is closed, the panic
// counted, and the first one logged with its stack (later ones go to the
// aggregated warnings).
func (ss *session) begin() {
	handedOff := false
	defer func() {
		if !handedOff {
			ss.close()
		}
	}()
	defer ss.contain()
	srv := ss.srv
	ss.start = srv.cfg.Now()
	addr := clientAddr(ss.conn.RemoteAddr())
	pr, ref := srv.adm.admit(&ss.slot, ss.conn, keyOf(addr), srv.allow.contains(addr), ss.start)
	if ref != nil {
		// Counted, not logged, and the line made once: a refusal is the
		// cheapest thing a flood can make the server do, and must stay so.
		srv.metrics.refusal(ref.reason).Inc()
		ss.conn.SetWriteDeadline(time.Now().Add(srv.cfg.WriteTimeout))
		_, _ = ss.conn.Write(ref.line) // best effort: closing next
		return
	}
	ss.admitted, ss.price = true, pr
	setDeadlines(ss.conn, time.Now(), pr.window, srv.cfg.WriteTimeout)
	ch := protocol.Challenge{Prefix: srv.minter.Challenge(pr.bits, ss.slot.st.resource), Window: pr.window}
	if err := writeLine(&srv.lines, ss.conn, ch); err != nil {
		ss.finish(ss.gone(), err.Error())
		return
	}
	srv.wg.Add(1)
	handedOff = true
	go ss.await()
}

// await runs the session's second half: it waits for the answer, checks
// it, hands a proven connection to the Handler, and closes.
func (ss *session) await() {
	defer ss.srv.wg.Done()
	defer ss.close()
	defer ss.contain()
	// The wait is the only call made from here before the answer arrives,
	// and this frame is small: what a silent handshake holds is this
	// frame and the runtime's, within the first 2 KiB of stack.
	in, err := ss.wait.wait(ss.conn, &ss.srv.inboxes)
	outcome, detail := ss.answer(in, err)
	ss.finish(outcome, detail)
}

// close releases the session's slot, if it still holds one, and closes
// its connection.
func (ss *session) close() {
	ss.release()
	ss.conn.Close()
}

// release gives the session's slot back to admission, once.
func (ss *session) release() {
	if ss.admitted {
		ss.admitted = false
		ss.srv.adm.release(&ss.slot, ss.srv.cfg.Now())
	}
}

// answer takes what waitAnswer returned, reads and checks the answer,
// and replies: an ERROR line, or, once the proof checked out, whatever the
// Handler does. It returns the outcome ("served", an error code, "gone",
// "evicted" or "shutdown") and a detail.
func (ss *session) answer(in *inbox, err error) (outcome, detail string) {
	srv, sl := ss.srv, &ss.slot
	// The inbox goes back to its pool when the answer is checked, before
	// the Handler runs: a tunnel holds no read buffer of ours.
	defer func() {
		if in != nil {
			srv.inboxes.put(in)
		}
	}()
	if err == nil && !srv.adm.answered(sl) {
		err = net.ErrClosed // closed by admission while the answer arrived
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return ss.tooSlow()
		}
		return ss.gone(), fmt.Sprintf("read solution: %v", err)
	}
	sol, err := in.r.ReadSolution()
	if err != nil {
		code, ok := readErrorCode(err)
		if !ok {
			return outcomeGone, err.Error()
		}
		if code == protocol.CodeTooSlow {
			return ss.tooSlow()
		}
		outcome, detail := ss.refuse(code, err.Error())
		lingerClose(ss.conn)
		return outcome, detail
	}
	stamp, expires, err := srv.minter.Verify(sol.Stamp, sl.st.resource)
	if err != nil {
		return ss.refuse(verifyErrorCode(err), err.Error())
	}
	if err := srv.spent.Spend(stamp.Prefix(), sl.st.key, expires); err != nil {
		switch {
		case errors.Is(err, hashcash.ErrReplayed):
			return ss.refuse(protocol.CodeReplayed, "challenge already redeemed")
		case errors.Is(err, hashcash.ErrOverShare):
			srv.warn.warn("an address used up its share of the replay cache", nil)
			return ss.refuse(protocol.CodeBusy, "this address redeemed too many challenges lately; try again later")
		}
		srv.warn.warn("replay store refused a solution", err)
		return ss.refuse(protocol.CodeBusy, "cannot record the solution now; try again")
	}
	sl.redeemed = true
	ss.proven = Proven{Conn: ss.conn, Client: sl.client, Bits: stamp.Bits, WriteTimeout: srv.cfg.WriteTimeout, ss: ss}
	if early := in.r.Buffered(); len(early) > 0 {
		ss.proven.early = bytes.Clone(early)
	}
	srv.inboxes.put(in)
	in = nil
	if err := srv.handler.ServeProven(&ss.proven); err != nil {
		return outcomeGone, err.Error()
	}
	return outcomeServed, ""
}

// finish counts and logs the session's outcome.
func (ss *session) finish(outcome, detail string) {
	m := ss.srv.metrics
	m.outcome(outcome).Inc()
	elapsed := ss.srv.cfg.Now().Sub(ss.start)
	m.handshakeDuration.Observe(elapsed.Seconds())
	if ce := ss.srv.log.Check(zap.DebugLevel, "session"); ce != nil {
		ce.Write(zap.Stringer("remote", ss.conn.RemoteAddr()), zap.Int("bits", ss.price.bits),
			zap.Duration("window", ss.price.window), zap.String("outcome", outcome), zap.String("detail", detail),
			zap.Duration("duration", elapsed))
	}
}

// contain recovers the session's panic; both halves defer it.
func (ss *session) contain() {
	r := recover()
	if r == nil {
		return
	}
	srv := ss.srv
	srv.metrics.panics.Inc()
	if srv.panicLogged.CompareAndSwap(false, true) {
		srv.log.Error("session panicked; connection closed (later panics are counted in the warnings)",
			zap.Any("panic", r), zap.Stringer("remote", ss.conn.RemoteAddr()), zap.ByteString("stack", debug.Stack()))
	} else {
		srv.warn.warn("session panicked", fmt.Errorf("%v", r))
	}
}

// gone names why a silent session ended without an answer: admission
// closed it (the client is told why, if the write is cheap), or the
// client left.
func (ss *session) gone() string {
	switch ss.srv.adm.closedFor(&ss.slot) {
	case closedEvicted:
		ss.tell("server full: this handshake was closed to make room; try again")
		return outcomeEvicted
	case closedShutdown:
		ss.tell("server is shutting down")
		return outcomeShutdown
	}
	return outcomeGone
}

// tell writes a busy error when that cannot block: a connection closed by
// admission gets one short try.
func (ss *session) tell(reason string) {
	ss.conn.SetWriteDeadline(time.Now().Add(tellTimeout))
	_ = ss.srv.lines.write(ss.conn, &protocol.Error{Code: protocol.CodeBusy, Reason: reason}) // one try
}

// tellTimeout bounds the write of tell.
const tellTimeout = 50 * time.Millisecond

// tooSlow counts a window that ran out and tells the client.
func (ss *session) tooSlow() (string, string) {
	ss.srv.metrics.solveTimeouts.Inc()
	return ss.refuse(protocol.CodeTooSlow, fmt.Sprintf("no solution within %v", ss.price.window))
}

// refuse tells the client code and reason, and returns them as the outcome.
func (ss *session) refuse(code protocol.Code, reason string) (string, string) {
	ss.write(&protocol.Error{Code: code, Reason: reason}) // best effort: closing next
	return string(code), reason
}

func (ss *session) write(m appender) error {
	ss.conn.SetWriteDeadline(time.Now().Add(ss.srv.cfg.WriteTimeout))
	return ss.srv.lines.write(ss.conn, m)
}

// lingerClose half-closes conn and discards a bounded amount of unread
// input before the caller closes it, so the kernel sends FIN rather than a
// reset that could destroy the reply still in flight (as net/http does).
func lingerClose(conn net.Conn) {
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		return
	}
	cw.CloseWrite()
	conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, conn, lingerBytes)
}

// Bounds of lingerClose: an attacker can hold a connection no longer than this.
const (
	lingerTimeout = 200 * time.Millisecond
	lingerBytes   = 16 << 10
)

// setDeadlines sets a session's read deadline (the answer window) and
// write deadline (for the challenge) from now, the earlier one first.
// Every later change moves a deadline later (the reply's write deadline).
// That matters on a quiet server: a deadline that becomes the process's
// earliest timer wakes the thread sleeping in the network poller (a write
// and a read of its eventfd and a wake-up), which a later one does not.
// (strace -c of a paced loadgen run, per session: 2.49 writes, the
// eventfd's included, with the write deadline set first; 2.25 now; 2.00
// for the bare exchange server, which sets both deadlines at once.)
func setDeadlines(conn net.Conn, now time.Time, window, write time.Duration) {
	if window < write {
		conn.SetReadDeadline(now.Add(window))
		conn.SetWriteDeadline(now.Add(write))
		return
	}
	conn.SetWriteDeadline(now.Add(write))
	conn.SetReadDeadline(now.Add(window))
}

// readErrorCode maps an error reading the solution to the code the client
// is told, or false when there is no one left to tell.
func readErrorCode(err error) (protocol.Code, bool) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return protocol.CodeTooSlow, true
	case errors.Is(err, protocol.ErrVersion):
		return protocol.CodeVersion, true
	case errors.Is(err, protocol.ErrLineTooLong), errors.Is(err, protocol.ErrMalformed):
		return protocol.CodeMalformed, true
	}
	return "", false
}

// verifyErrorCode maps a hashcash verification error to its protocol code.
func verifyErrorCode(err error) protocol.Code {
	switch {
	case errors.Is(err, hashcash.ErrAlg):
		return protocol.CodeWrongAlg
	case errors.Is(err, hashcash.ErrForged):
		return protocol.CodeForged
	case errors.Is(err, hashcash.ErrResource):
		return protocol.CodeWrongResource
	case errors.Is(err, hashcash.ErrExpired), errors.Is(err, hashcash.ErrFuture):
		return protocol.CodeExpired
	case errors.Is(err, hashcash.ErrBits):
		return protocol.CodeBadSolution
	}
	return protocol.CodeMalformed
}
