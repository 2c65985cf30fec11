// Package powserver is the powtcp server: it sends each connection a
// hashcash challenge, checks the answer and hands a quote to a client that
// proved its work. It is shaped like net/http's Server: New, then Serve on
// one or more listeners, then Shutdown.
package powserver

import (
	"container/list"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

	readers     sync.Pool // of *protocol.Reader
	shutdown    atomic.Bool
	panicLogged atomic.Bool    // the first session panic was logged with its stack
	wg          sync.WaitGroup // Serve loops and sessions

	mu         sync.Mutex
	listeners  map[net.Listener]struct{}
	sessions   map[*session]struct{} // every admitted session
	handshakes list.List             // sessions waiting for a solution, oldest first
	clients    map[netip.Addr]*ipState
	accepts    rate
	loadBits   int       // extra bits of the load now
	loggedBits int       // extra bits of the load, as last logged
	loggedAt   time.Time // when they were logged
	outcomes   map[string]int64
}

// session is one admitted connection.
type session struct {
	conn     net.Conn
	client   netip.Addr
	accepted time.Time
	waiting  *list.Element // in Server.handshakes while waiting for a solution
	evicted  bool
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
		Key: key, Alg: cfg.Alg, TTL: cfg.ChallengeTTL, MaxSkew: 5 * time.Second, Now: cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("challenge minter: %w", err)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		warn:      newWarnAggregator(log, 10*time.Second, cfg.Now),
		minter:    minter,
		spent:     cfg.Spent,
		quotes:    cfg.Quotes,
		metrics:   newMetrics(reg),
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
		clients:   map[netip.Addr]*ipState{},
		outcomes:  map[string]int64{},
	}
	s.readers.New = func() any { return protocol.NewReader(nil) }
	if s.quotes == nil {
		s.quotes = quotes.Default()
	}
	if s.spent == nil {
		mem := hashcash.NewMemoryStore(cfg.ReplayCacheSize, cfg.Now)
		s.spent = mem
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "powtcp_replay_cache_entries",
			Help: "Redeemed challenges remembered until they expire.",
		}, func() float64 { return float64(mem.Len()) }))
	}
	s.metrics.difficulty.Set(float64(cfg.Difficulty))
	return s, nil
}

// Ready reports whether the server is serving and not shutting down.
func (s *Server) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.shutdown.Load() && len(s.listeners) > 0
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
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.warn.warn("accept error", err)
			t := time.NewTimer(backoff)
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

// Shutdown stops accepting, lets in-flight sessions finish, and returns
// when they have or when ctx is done, whichever comes first; then it closes
// what is left and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	inFlight := len(s.sessions)
	s.mu.Unlock()
	s.log.Info("shutting down", zap.Int("sessions_in_flight", inFlight))

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
		s.mu.Lock()
		for sess := range s.sessions {
			sess.conn.Close()
		}
		s.mu.Unlock()
		<-idle
	}
	s.warn.flush()
	return err
}

// refusal is why a connection was not admitted.
type refusal struct {
	reason string // metric label
	msg    string // for the client
}

// admit registers a new connection, evicting the oldest unanswered
// handshake when the server is full. It returns the bits to ask for.
func (s *Server) admit(conn net.Conn, now time.Time) (*session, int, *refusal) {
	client := clientKey(conn.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown.Load() {
		return nil, 0, &refusal{"shutdown", "server is shutting down"}
	}
	st := s.clients[client]
	if st == nil {
		st = &ipState{}
		s.clients[client] = st
		if len(s.clients) > 2*s.cfg.MaxConns {
			s.pruneClients(now)
		}
	}
	st.rate.add(now)
	s.accepts.add(now)
	if st.conns >= s.cfg.MaxConnsPerIP {
		return nil, 0, &refusal{"per_ip", fmt.Sprintf("more than %d connections from %s", s.cfg.MaxConnsPerIP, client)}
	}
	if len(s.sessions) >= s.cfg.MaxConns {
		victim := s.victimLocked()
		if victim == nil {
			return nil, 0, &refusal{"cap", "server at capacity"}
		}
		s.evictLocked(victim)
	}
	sess := &session{conn: conn, client: client, accepted: now}
	s.sessions[sess] = struct{}{}
	sess.waiting = s.handshakes.PushBack(sess)
	st.conns++
	s.metrics.handshakes.Set(float64(s.handshakes.Len()))
	return sess, s.bitsLocked(st, now), nil
}

// evictScan bounds how far victimLocked looks for a heavy holder.
const evictScan = 64

// victimLocked picks the handshake to close when the server is full: the
// oldest one whose address holds several connections, among the oldest
// evictScan, or else the oldest of all. Attackers holding idle sockets hold
// many per address; an honest client solving its challenge holds one, so
// re-dialling attackers evict each other rather than honest solvers.
func (s *Server) victimLocked() *session {
	i := 0
	for e := s.handshakes.Front(); e != nil && i < evictScan; e, i = e.Next(), i+1 {
		sess := e.Value.(*session)
		if st := s.clients[sess.client]; st != nil && st.conns > 1 {
			return sess
		}
	}
	if e := s.handshakes.Front(); e != nil {
		return e.Value.(*session)
	}
	return nil
}

// evictLocked closes a waiting session to make room; its goroutine sees
// the closed connection and ends. s.mu is held.
func (s *Server) evictLocked(sess *session) {
	sess.evicted = true
	s.releaseLocked(sess)
	sess.conn.Close()
}

// answered takes sess off the handshake list: it can no longer be evicted.
func (s *Server) answered(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.waiting != nil {
		s.handshakes.Remove(sess.waiting)
		sess.waiting = nil
		s.metrics.handshakes.Set(float64(s.handshakes.Len()))
	}
}

// release forgets sess when its connection ends.
func (s *Server) release(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(sess)
}

func (s *Server) releaseLocked(sess *session) {
	if _, ok := s.sessions[sess]; !ok {
		return // evicted before
	}
	delete(s.sessions, sess)
	if sess.waiting != nil {
		s.handshakes.Remove(sess.waiting)
		sess.waiting = nil
		s.metrics.handshakes.Set(float64(s.handshakes.Len()))
	}
	if st := s.clients[sess.client]; st != nil {
		st.conns--
	}
}

// pruneClients forgets addresses with no connection whose rate has decayed
// to calm, and, if that is not enough, every address with no connection.
func (s *Server) pruneClients(now time.Time) {
	for k, st := range s.clients {
		if st.conns == 0 && st.rate.at(now) < calmIPRate {
			delete(s.clients, k)
		}
	}
	if len(s.clients) > s.cfg.MaxConns {
		for k, st := range s.clients {
			if st.conns == 0 {
				delete(s.clients, k)
			}
		}
	}
}

// bitsLocked is the difficulty for a client now: the base, plus bits for
// the server's accept rate (everyone pays), plus bits for the client's own
// connection rate and, when it holds several connections at once, for how
// full the connection table is; all extra bits capped at MaxExtraBits.
// Held sockets are charged to the addresses that hold them, not to every
// client: idle sockets cost the server memory, which eviction bounds, not
// CPU, and making honest clients solve harder would not free any.
func (s *Server) bitsLocked(st *ipState, now time.Time) int {
	if s.cfg.MaxExtraBits <= 0 {
		return s.cfg.Difficulty
	}
	load := min(extraBits(s.accepts.at(now), calmAcceptRate), s.cfg.MaxExtraBits)
	if load != s.loadBits {
		s.loadBits = load
		s.metrics.difficulty.Set(float64(s.cfg.Difficulty + load))
	}
	// Log the change, at most once a second: at a threshold the load part
	// can flip on every accept.
	if load != s.loggedBits && now.Sub(s.loggedAt) >= time.Second {
		s.loggedBits, s.loggedAt = load, now
		s.log.Info("difficulty changed",
			zap.Int("bits", s.cfg.Difficulty+load), zap.Int("base", s.cfg.Difficulty), zap.Int("load_extra", load),
			zap.Int("handshakes", s.handshakes.Len()), zap.Float64("accept_rate", s.accepts.at(now)))
	}
	client := extraBits(st.rate.at(now), calmIPRate)
	if st.conns > 1 {
		client += fillBits(s.handshakes.Len(), s.cfg.MaxConns)
	}
	return s.cfg.Difficulty + min(load+client, s.cfg.MaxExtraBits)
}

// resource binds a stamp to the client address and this service, without
// ':' (the reference hashcash tool splits on it): "127.0.0.1@powtcp".
// Clients of a listener without IP addresses (a unix socket) share one
// key, "local".
func (s *Server) resource(client netip.Addr) string {
	return clientKeyString(client) + "@" + s.cfg.Name
}

// handle runs one connection from accept to close. A panic in it ends
// this session only: the connection is closed, the panic counted, and the
// first one logged with its stack (later ones go to the aggregated warnings).
func (s *Server) handle(conn net.Conn) {
	defer conn.Close()
	defer func() {
		if r := recover(); r != nil {
			s.metrics.panics.Inc()
			if s.panicLogged.CompareAndSwap(false, true) {
				s.log.Error("session panicked; connection closed (later panics are counted in the warnings)",
					zap.Any("panic", r), zap.Stringer("remote", conn.RemoteAddr()), zap.ByteString("stack", debug.Stack()))
			} else {
				s.warn.warn("session panicked", fmt.Errorf("%v", r))
			}
		}
	}()
	start := s.cfg.Now()
	sess, bits, ref := s.admit(conn, start)
	if ref != nil {
		s.metrics.refused.WithLabelValues(ref.reason).Inc()
		s.count("refused-" + ref.reason)
		s.warn.warn("connection refused: "+ref.reason, nil)
		s.write(conn, &protocol.Error{Code: protocol.CodeBusy, Reason: ref.msg}) // best effort: closing next
		return
	}
	defer s.release(sess)
	outcome, detail := s.exchange(sess, bits)
	s.metrics.sessions.WithLabelValues(outcome).Inc()
	s.count(outcome)
	elapsed := s.cfg.Now().Sub(start)
	s.metrics.handshakeDuration.Observe(elapsed.Seconds())
	if ce := s.log.Check(zap.DebugLevel, "session"); ce != nil {
		ce.Write(zap.Stringer("remote", conn.RemoteAddr()), zap.Int("bits", bits),
			zap.String("outcome", outcome), zap.String("detail", detail), zap.Duration("duration", elapsed))
	}
}

// exchange sends the challenge, checks the answer and replies. It returns
// the outcome ("served", an error code, "gone" or "evicted") and a detail.
func (s *Server) exchange(sess *session, bits int) (outcome, detail string) {
	conn := sess.conn
	resource := s.resource(sess.client)
	window := s.cfg.solveWindow(bits)
	ch := protocol.Challenge{Prefix: s.minter.Challenge(bits, resource), Window: window}
	if err := s.write(conn, ch); err != nil {
		return s.gone(sess), err.Error()
	}
	conn.SetReadDeadline(time.Now().Add(window))
	sol, err := s.readSolution(conn)
	s.answered(sess)
	if err != nil {
		code, ok := readErrorCode(err)
		if !ok {
			return s.gone(sess), err.Error()
		}
		if code == protocol.CodeTooSlow {
			s.metrics.solveTimeouts.Inc()
			return s.refuse(conn, code, fmt.Sprintf("no solution within %v", window))
		}
		outcome, detail := s.refuse(conn, code, err.Error())
		lingerClose(conn)
		return outcome, detail
	}
	stamp, expires, err := s.minter.Verify(sol.Stamp, resource)
	if err != nil {
		return s.refuse(conn, verifyErrorCode(err), err.Error())
	}
	if err := s.spent.Spend(stamp.Prefix(), expires); err != nil {
		if errors.Is(err, hashcash.ErrReplayed) {
			return s.refuse(conn, protocol.CodeReplayed, "challenge already redeemed")
		}
		s.warn.warn("replay store refused a solution", err)
		return s.refuse(conn, protocol.CodeBusy, "cannot record the solution now; try again")
	}
	q := s.quotes.Random()
	if err := s.write(conn, protocol.Quote{Text: q.String()}); err != nil {
		return s.gone(sess), err.Error()
	}
	s.metrics.quotesServed.Inc()
	return "served", ""
}

// count adds one to the summary of outcomes.
func (s *Server) count(outcome string) {
	s.mu.Lock()
	s.outcomes[outcome]++
	s.mu.Unlock()
}

// Summary returns how many connections ended with each outcome so far:
// "served", an error code, "gone", "evicted", or "refused-<reason>".
func (s *Server) Summary() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.outcomes)
}

// readSolution waits for input, then reads the solution line with a
// pooled Reader: a connection that holds its handshake open and silent
// costs no read buffer.
func (s *Server) readSolution(conn net.Conn) (protocol.Solution, error) {
	if err := waitReadable(conn); err != nil {
		return protocol.Solution{}, fmt.Errorf("read solution: %w", err)
	}
	r := s.readers.Get().(*protocol.Reader)
	r.Reset(conn)
	defer func() {
		r.Reset(nil)
		s.readers.Put(r)
	}()
	return r.ReadSolution()
}

// gone names why a session ended without a reply: evicted, or the client left.
func (s *Server) gone(sess *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.evicted {
		return "evicted"
	}
	return "gone"
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
