// Package powserver is the powtcp server: it sends each connection a
// hashcash challenge, checks the answer and hands a quote to a client that
// proved its work. It is shaped like net/http's Server: New, then Serve on
// one or more listeners, then Shutdown.
package powserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/quotes"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("powserver: server closed")

// Server serves the powtcp protocol. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *zap.Logger
	warn    *warnAggregator
	minter  *hashcash.Minter
	spent   hashcash.SpentStore
	quotes  *quotes.Collection
	metrics *metrics

	inboxes     inboxes
	shutdown    atomic.Bool
	panicLogged atomic.Bool    // the first session panic was logged with its stack
	wg          sync.WaitGroup // Serve loops and sessions

	adm *admission

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
}

// New returns a Server for cfg; log may be nil. Registerer may be nil, in
// which case metrics are kept on a private registry.
func New(cfg Config, log *zap.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	key := cfg.Key
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	minter, err := hashcash.NewMinter(hashcash.MinterConfig{
		Key: key, VerifyKeys: cfg.VerifyKeys, Alg: cfg.Alg, TTL: cfg.ChallengeTTL, MaxSkew: 5 * time.Second, Now: cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("challenge minter: %w", err)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := newMetrics(reg)
	s := &Server{
		cfg:       cfg,
		log:       log,
		warn:      newWarnAggregator(log, 10*time.Second, cfg.Now),
		minter:    minter,
		spent:     cfg.Spent,
		quotes:    cfg.Quotes,
		metrics:   m,
		adm:       newAdmission(cfg, log, m),
		listeners: map[net.Listener]struct{}{},
	}
	if s.quotes == nil {
		s.quotes = quotes.Default()
	}
	if s.spent == nil {
		mem := hashcash.NewMemoryStore(cfg.ReplayCacheSize, cfg.ReplayShare(), cfg.Now)
		s.spent = mem
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "powtcp_replay_cache_entries",
			Help: "Redeemed challenges remembered until they expire.",
		}, func() float64 { return float64(mem.Len()) }))
	}
	s.metrics.difficulty.Set(float64(cfg.Difficulty))
	return s, nil
}

// Ready reports whether the server is serving, not shutting down, and its
// spent store answers (a shared store: Ping).
func (s *Server) Ready() bool {
	s.mu.Lock()
	serving := !s.shutdown.Load() && len(s.listeners) > 0
	s.mu.Unlock()
	if p, ok := s.spent.(interface{ Ping(context.Context) error }); ok && serving {
		return p.Ping(context.Background()) == nil
	}
	return serving
}

// Serve accepts connections on ln until Shutdown, until ctx is done, or
// until ln fails for good (it is closed). Errors such as EMFILE do not stop
// it: it backs off, up to a second, and keeps accepting. Serve returns
// ErrServerClosed after Shutdown, ctx.Err() when ctx is done, and otherwise
// the listener's error. Sessions still in flight when Serve returns are
// left to Shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	// When ctx is done, wake Accept with a deadline and let this goroutine
	// close ln: Close returns only once the socket is gone, so nothing can
	// connect after Serve returned. (A Close from another goroutine may
	// still be releasing the socket when Accept returns.)
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() {
		if d, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
			d.SetDeadline(time.Unix(1, 0))
			return
		}
		ln.Close()
	})
	defer stop()

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			switch {
			case s.shutdown.Load():
				return ErrServerClosed
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.Is(err, net.ErrClosed):
				return err
			}
			s.metrics.acceptErrors.Inc()
			s.warn.warn("accept error", err)
			wait := time.Millisecond
			// Out of descriptors: free one by closing a silent handshake,
			// so that attackers holding every descriptor cannot stall
			// accept; back off only when there is none to close.
			if !(outOfDescriptors(err) && s.adm.evictOne()) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				wait = backoff
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			continue
		}
		backoff = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

// Shutdown stops accepting and closes every handshake whose answer has
// not begun to arrive (each is told "ERROR busy" where the write is cheap);
// it lets the sessions whose answer arrived finish, and returns when they
// have or when ctx is done, whichever comes first; then it closes what is
// left and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	closed, going := s.adm.close()
	s.log.Info("shutting down", zap.Int("handshakes_closed", closed), zap.Int("sessions_finishing", going))

	idle := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(idle)
	}()
	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
		s.adm.closeAll()
		<-idle
	}
	s.warn.flush()
	return err
}

// resource binds a stamp to the client address and this service, without
// ':' (the reference hashcash tool splits on it): "127.0.0.1@powtcp".
// Clients of a listener without IP addresses (a unix socket) share one
// key, "local".
func (s *Server) resource(client netip.Addr) string {
	return clientKeyString(client) + "@" + s.cfg.Name
}

// session is one admitted connection, from its challenge to its close.
type session struct {
	conn     net.Conn
	sl       *slot
	pr       price
	resource string
	start    time.Time
}

// handle runs a connection's first half: the PROXY header (if any),
// admission and the challenge. The wait for the answer and the rest run on
// a new goroutine, await: this one's stack grew to 4 KiB while it minted
// the challenge (crypto/rand and the HMAC are each over 1 KiB deep), and a
// connection that stays silent would hold that stack for its whole window.
// A fresh goroutine starts on the runtime's usual 2 KiB stack and waits on
// it; only an answer makes it grow. (Per silent handshake: 6.1 KB of
// server RSS before, 4.1 KB after; BENCHMARKS.md.)
//
// A panic ends its session only: the connection is closed, the panic
// counted, and the first one logged with its stack (later ones go to the
// aggregated warnings).
func (s *Server) handle(conn net.Conn) {
	handedOff := false
	defer func() {
		if !handedOff {
			conn.Close()
		}
	}()
	defer s.contain(conn)
	// A listener that takes the client's address from a PROXY protocol
	// header (command server's -proxy-protocol) has it only once the header
	// is in: a zero-length read makes it read the header, under its own
	// deadline, and reports a missing or refused header. (On other
	// connections it returns at once.)
	if _, err := conn.Read(nil); err != nil {
		s.metrics.refused.WithLabelValues("proxy_header").Inc()
		s.warn.warn("connection refused: proxy_header", err)
		return
	}
	start := s.cfg.Now()
	sl, pr, ref := s.adm.admit(conn, clientKey(conn.RemoteAddr()), start)
	if ref != nil {
		// Counted, not logged: a refusal is the cheapest thing a flood
		// can make the server do, and must stay so.
		s.metrics.refused.WithLabelValues(ref.reason).Inc()
		s.write(conn, &protocol.Error{Code: protocol.CodeBusy, Reason: ref.msg}) // best effort: closing next
		return
	}
	ss := &session{conn: conn, sl: sl, pr: pr, resource: s.resource(sl.client), start: start}
	defer func() {
		if !handedOff {
			s.adm.release(sl, s.cfg.Now())
		}
	}()
	ch := protocol.Challenge{Prefix: s.minter.Challenge(pr.bits, ss.resource), Window: pr.window}
	setDeadlines(conn, time.Now(), pr.window, s.cfg.WriteTimeout)
	if err := protocol.Write(conn, ch); err != nil {
		s.end(ss, s.gone(sl), err.Error())
		return
	}
	s.wg.Add(1)
	handedOff = true
	go s.await(ss)
}

// await runs a session's second half: it waits for the answer, checks it,
// replies, and closes the connection.
func (s *Server) await(ss *session) {
	defer s.wg.Done()
	defer ss.conn.Close()
	defer func() { s.adm.release(ss.sl, s.cfg.Now()) }()
	defer s.contain(ss.conn)
	// The wait is the only call made from here before the answer arrives,
	// and this frame is small: what a silent handshake holds is this
	// frame and the runtime's, within the first 2 KiB of stack.
	in, err := waitAnswer(ss.conn, &s.inboxes)
	if in != nil {
		defer s.inboxes.put(in)
	}
	outcome, detail := s.answer(ss, in, err)
	s.end(ss, outcome, detail)
}

// contain recovers a session's panic; both halves defer it.
func (s *Server) contain(conn net.Conn) {
	r := recover()
	if r == nil {
		return
	}
	s.metrics.panics.Inc()
	if s.panicLogged.CompareAndSwap(false, true) {
		s.log.Error("session panicked; connection closed (later panics are counted in the warnings)",
			zap.Any("panic", r), zap.Stringer("remote", conn.RemoteAddr()), zap.ByteString("stack", debug.Stack()))
	} else {
		s.warn.warn("session panicked", fmt.Errorf("%v", r))
	}
}

// end counts and logs a session's outcome.
func (s *Server) end(ss *session, outcome, detail string) {
	s.metrics.sessions.WithLabelValues(outcome).Inc()
	elapsed := s.cfg.Now().Sub(ss.start)
	s.metrics.handshakeDuration.Observe(elapsed.Seconds())
	if ce := s.log.Check(zap.DebugLevel, "session"); ce != nil {
		ce.Write(zap.Stringer("remote", ss.conn.RemoteAddr()), zap.Int("bits", ss.pr.bits),
			zap.Duration("window", ss.pr.window), zap.String("outcome", outcome), zap.String("detail", detail),
			zap.Duration("duration", elapsed))
	}
}

// answer takes what waitAnswer returned, reads and checks the answer
// and replies. It returns the outcome ("served", an error code, "gone",
// "evicted" or "shutdown") and a detail.
func (s *Server) answer(ss *session, in *inbox, err error) (outcome, detail string) {
	conn, sl, pr, resource := ss.conn, ss.sl, ss.pr, ss.resource
	if err == nil && !s.adm.answered(sl) {
		err = net.ErrClosed // closed by admission while the answer arrived
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return s.tooSlow(conn, pr.window)
		}
		return s.gone(sl), fmt.Sprintf("read solution: %v", err)
	}
	sol, err := in.r.ReadSolution()
	if err != nil {
		code, ok := readErrorCode(err)
		if !ok {
			return "gone", err.Error()
		}
		if code == protocol.CodeTooSlow {
			return s.tooSlow(conn, pr.window)
		}
		outcome, detail := s.refuse(conn, code, err.Error())
		lingerClose(conn)
		return outcome, detail
	}
	stamp, expires, err := s.minter.Verify(sol.Stamp, resource)
	if err != nil {
		return s.refuse(conn, verifyErrorCode(err), err.Error())
	}
	if err := s.spent.Spend(stamp.Prefix(), clientKeyString(sl.client), expires); err != nil {
		switch {
		case errors.Is(err, hashcash.ErrReplayed):
			return s.refuse(conn, protocol.CodeReplayed, "challenge already redeemed")
		case errors.Is(err, hashcash.ErrOverShare):
			s.warn.warn("an address used up its share of the replay cache", nil)
			return s.refuse(conn, protocol.CodeBusy, "this address redeemed too many challenges lately; try again later")
		}
		s.warn.warn("replay store refused a solution", err)
		return s.refuse(conn, protocol.CodeBusy, "cannot record the solution now; try again")
	}
	sl.redeemed = true
	q := s.quotes.Random()
	if err := s.write(conn, protocol.Quote{Text: q.String()}); err != nil {
		return "gone", err.Error()
	}
	s.metrics.quotesServed.Inc()
	return "served", ""
}

// Summary returns how many connections ended with each outcome so far:
// "served", an error code, "gone", "evicted", "shutdown", or
// "refused-<reason>". It reads the counters /metrics exports
// (powtcp_sessions_total, powtcp_connections_refused_total), so the two
// always agree.
func (s *Server) Summary() map[string]int64 {
	out := map[string]int64{}
	add := func(vec *prometheus.CounterVec, prefix string) {
		ch := make(chan prometheus.Metric, 32)
		go func() {
			vec.Collect(ch)
			close(ch)
		}()
		for m := range ch {
			var d dto.Metric
			if m.Write(&d) == nil && len(d.GetLabel()) == 1 {
				out[prefix+d.GetLabel()[0].GetValue()] = int64(d.GetCounter().GetValue())
			}
		}
	}
	add(s.metrics.sessions, "")
	add(s.metrics.refused, "refused-")
	return out
}

// gone names why a silent session ended without an answer: admission
// closed it (the client is told why, if the write is cheap), or the
// client left.
func (s *Server) gone(sl *slot) string {
	switch s.adm.closedFor(sl) {
	case closedEvicted:
		s.tell(sl.conn, "server full: this handshake was closed to make room; try again")
		return "evicted"
	case closedShutdown:
		s.tell(sl.conn, "server is shutting down")
		return "shutdown"
	}
	return "gone"
}

// tell writes a busy error when that cannot block: a connection closed by
// admission gets one short try.
func (s *Server) tell(conn net.Conn, reason string) {
	conn.SetWriteDeadline(time.Now().Add(tellTimeout))
	protocol.Write(conn, &protocol.Error{Code: protocol.CodeBusy, Reason: reason})
}

// tellTimeout bounds the write of tell.
const tellTimeout = 50 * time.Millisecond

// tooSlow counts a window that ran out and tells the client.
func (s *Server) tooSlow(conn net.Conn, window time.Duration) (string, string) {
	s.metrics.solveTimeouts.Inc()
	return s.refuse(conn, protocol.CodeTooSlow, fmt.Sprintf("no solution within %v", window))
}

func (s *Server) refuse(conn net.Conn, code protocol.Code, reason string) (string, string) {
	s.write(conn, &protocol.Error{Code: code, Reason: reason}) // best effort: closing next
	return string(code), reason
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

func (s *Server) write(conn net.Conn, m protocol.Message) error {
	conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	return protocol.Write(conn, m)
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
