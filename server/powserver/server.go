// Package powserver is the powtcp server: it sends each connection a
// hashcash challenge, checks the answer and hands the connection of a
// client that proved its work to a Handler; the default Handler serves a
// random quote. It is shaped like net/http's Server: New, then Serve on one
// or more listeners, then Shutdown.
//
// A connection's life is a session (session.go): the PROXY header if the
// listener reads one, admission (admission.go: slots, per-address caps,
// the price, eviction of silent handshakes), the challenge, the wait for
// the answer, its check against the minter and the spent store, then the
// Handler. A Go program embeds the gate in its own process by giving
// Config.Handler a Handler of its own (see the example).
package powserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/hashcash"
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
	handler Handler
	metrics *metrics

	inboxes     inboxes
	lines       lineBufs
	allow       allowList
	shutdown    atomic.Bool
	panicLogged atomic.Bool    // the first session panic was logged with its stack
	wg          sync.WaitGroup // Serve loops and sessions

	adm *admission
	// acceptLoops is how many accept loops serve a plain TCP listener:
	// one per CPU the runtime uses, at most 4 (they take turns on the
	// listener's lock).
	acceptLoops int

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
		cfg:         cfg,
		log:         log,
		warn:        newWarnAggregator(log, 10*time.Second, cfg.Now),
		minter:      minter,
		spent:       cfg.Spent,
		handler:     cfg.Handler,
		metrics:     m,
		adm:         newAdmission(cfg, log, m),
		listeners:   map[net.Listener]struct{}{},
		acceptLoops: min(runtime.GOMAXPROCS(0), 4),
	}
	if s.handler == nil {
		q := cfg.Quotes
		if q == nil {
			q = quotes.Default()
		}
		s.handler = newQuoteHandler(q, m.quotesServed)
	}
	if s.spent == nil {
		mem := hashcash.NewMemoryStore(cfg.ReplayCacheSize, cfg.ReplayShare(), cfg.Now)
		s.spent = mem
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "powtcp_replay_cache_entries",
			Help: "Redeemed challenges remembered until they expire.",
		}, func() float64 { return float64(mem.Len()) }))
	}
	s.allow.set(cfg.AllowNetworks)
	s.metrics.difficulty.Set(float64(cfg.Difficulty))
	return s, nil
}

// SetKeys replaces the challenges' MAC keys, as Config.Key and
// Config.VerifyKeys, while the server runs (a reload): challenges minted
// from now on use key, and those of every key in verify still check out.
// On an error the keys are unchanged.
func (s *Server) SetKeys(key []byte, verify [][]byte) error { return s.minter.SetKeys(key, verify) }

// SetAllowNetworks replaces Config.AllowNetworks while the server runs (a
// reload); connections admitted from now on are judged by nets.
func (s *Server) SetAllowNetworks(nets []netip.Prefix) error {
	for _, p := range nets {
		if !p.IsValid() {
			return fmt.Errorf("powserver: allow network %v is not a valid prefix", p)
		}
	}
	s.allow.set(nets)
	return nil
}

// SetQuotes makes c the collection the quote service hands out from now
// on. It fails when the server's Handler is not the default quote service.
func (s *Server) SetQuotes(c *quotes.Collection) error {
	h, ok := s.handler.(*quoteHandler)
	if !ok || c == nil || c.Len() == 0 {
		return errors.New("powserver: SetQuotes needs a non-empty collection and the default quote handler")
	}
	h.set(c)
	return nil
}

// Ready reports whether the server is serving, not shutting down, its
// Handler is ready (when it says: a gate whose upstream is down is not) and
// its spent store answers (a shared store: Ping).
func (s *Server) Ready() bool {
	s.mu.Lock()
	serving := !s.shutdown.Load() && len(s.listeners) > 0
	s.mu.Unlock()
	if !serving {
		return false
	}
	if h, ok := s.handler.(interface{ Ready() bool }); ok && !h.Ready() {
		return false
	}
	if p, ok := s.spent.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(context.Background()) == nil
	}
	return true
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

	// A plain TCP listener gets more than one accept loop: each refuses
	// or challenges on the loop itself (see session.begin), so a flood of
	// connections that are only refused is drained by several cores.
	loops := 1
	if _, plain := ln.(*net.TCPListener); plain {
		loops = s.acceptLoops
	}
	var others sync.WaitGroup
	for range loops - 1 {
		others.Go(func() {
			// Its error is this goroutine's: the listener's deadline or
			// Close ends every loop.
			_ = s.acceptLoop(ctx, ln)
		})
	}
	err := s.acceptLoop(ctx, ln)
	others.Wait()
	return err
}

// acceptLoop accepts connections on ln for Serve until ln fails for good,
// and returns Serve's error.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener) error {
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
		ss := &session{srv: s, conn: conn}
		if _, plain := conn.(*net.TCPConn); plain {
			ss.begin() // nothing to wait for before admission: see begin
			continue
		}
		s.wg.Add(1)
		go ss.serve()
	}
}

// Shutdown stops accepting and closes every handshake whose answer has
// not begun to arrive (each is told "ERROR busy" where the write is cheap);
// it lets the sessions whose answer arrived finish, and returns when they
// have or when ctx is done, whichever comes first; then it closes what is
// left (the Handler's CloseAll, if it has one, ends what it holds: a
// gate's tunnels get until ctx's deadline) and returns ctx.Err().
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
		if h, ok := s.handler.(interface{ CloseAll() }); ok {
			h.CloseAll()
		}
		<-idle
	}
	s.warn.flush()
	return err
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
			if m.Write(&d) == nil && len(d.GetLabel()) == 1 && d.GetCounter().GetValue() > 0 {
				out[prefix+d.GetLabel()[0].GetValue()] = int64(d.GetCounter().GetValue())
			}
		}
	}
	add(s.metrics.sessions, "")
	add(s.metrics.refused, "refused-")
	return out
}

// outOfDescriptors reports whether an accept error means the process or
// the system ran out of file descriptors.
func outOfDescriptors(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
