// Package gate puts powtcp's proof of work in front of any TCP service: a
// powserver.Handler that relays each proven connection to an upstream
// address, both ways, unchanged.
//
// A tunnel's life, once the client's proof checked out (verified and
// spent, by powserver):
//
//  1. its place is checked against MaxTunnels and MaxTunnelsPerIP (over
//     either, the client is told "ERROR busy");
//  2. the connection is detached from the server's handshake slots
//     (Proven.Detach): open tunnels never starve new handshakes, and the
//     tunnels' own descriptors are bounded by MaxTunnels (command server
//     fits -max-conns under the descriptor limit less two per tunnel);
//  3. the upstream is dialled under DialTimeout; a refusal or a time-out is
//     answered "ERROR upstream ..." before any byte is relayed, and counted;
//  4. with ProxyProtocol, a PROXY protocol v2 header tells the upstream the
//     client's address (the one the server saw, which a trusted balancer's
//     own PROXY header may have given);
//  5. the client is told "PROCEED <name>", and from the next byte on both
//     directions are copied unchanged: io.Copy between two TCP connections,
//     which Go runs as splice(2) on Linux, so the bytes never enter this
//     process; one direction's end is passed on as a half-close
//     (CloseWrite), so protocols whose one side finishes first work;
//  6. it ends when both directions ended, when neither moved a byte for
//     IdleTimeout, when it reached MaxLifetime, or at shutdown (CloseAll).
//
// The stamp is spent before the upstream is dialled (powserver spends it
// before any handler runs): spent after, one solved stamp presented on many
// connections at once could open an upstream connection for each before
// the first spend. A client whose upstream turned out to be down loses
// that proof; it is told so ("ERROR upstream") and solves again.
package gate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/server/powserver"
)

// Config is what a Gate needs. Start from DefaultConfig.
type Config struct {
	// Upstream is the service's address, host:port.
	Upstream string
	// Name is what PROCEED tells clients the upstream is (one token, no
	// spaces); "upstream" when empty.
	Name string
	// DialTimeout bounds the dial of the upstream.
	DialTimeout time.Duration
	// IdleTimeout ends a tunnel in which no byte moved either way for
	// this long.
	IdleTimeout time.Duration
	// MaxLifetime ends a tunnel this long after it opened, busy or not.
	MaxLifetime time.Duration
	// MaxTunnels caps the tunnels open at once; MaxTunnelsPerIP caps one
	// client address's (IPv6: its /64, as every per-client limit).
	MaxTunnels, MaxTunnelsPerIP int
	// ProxyProtocol sends the upstream a PROXY protocol v2 header with the
	// client's address before any of the client's bytes.
	ProxyProtocol bool
}

// DefaultConfig returns the defaults of command server's tunnel flags.
func DefaultConfig(upstream string) Config {
	return Config{
		Upstream:        upstream,
		Name:            "upstream",
		DialTimeout:     5 * time.Second,
		IdleTimeout:     10 * time.Minute,
		MaxLifetime:     24 * time.Hour,
		MaxTunnels:      4096,
		MaxTunnelsPerIP: 16,
	}
}

// Validate reports every setting a Gate refuses.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Upstream); err != nil || c.Upstream == "" {
		bad("upstream %q: want host:port", c.Upstream)
	}
	if _, err := (protocol.Proceed{Upstream: c.name()}).Line(); err != nil {
		bad("upstream name %q: want one token of printable characters", c.Name)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"upstream dial timeout", c.DialTimeout}, {"tunnel idle timeout", c.IdleTimeout}, {"tunnel lifetime", c.MaxLifetime}} {
		if d.v <= 0 {
			bad("%s %v: want a positive duration", d.name, d.v)
		}
	}
	if c.MaxTunnels < 1 {
		bad("max tunnels %d: want at least 1", c.MaxTunnels)
	}
	if c.MaxTunnelsPerIP < 1 || c.MaxTunnelsPerIP > c.MaxTunnels {
		bad("max tunnels per address %d: want 1..%d (max tunnels)", c.MaxTunnelsPerIP, c.MaxTunnels)
	}
	return errors.Join(errs...)
}

func (c Config) name() string {
	if c.Name == "" {
		return "upstream"
	}
	return c.Name
}

// Gate relays proven connections to an upstream: a powserver.Handler.
type Gate struct {
	cfg     Config
	log     *zap.Logger
	m       *metrics
	proceed []byte // the PROCEED line, made once
	dialer  net.Dialer

	mu       sync.Mutex
	open     map[*tunnel]struct{}
	perIP    map[netip.Addr]int
	closing  bool
	lastDial atomic.Int64 // unix nanoseconds of the last dial that failed, 0 after one succeeded
	probeAt  atomic.Int64 // unix nanoseconds of the last readiness probe
	probeOK  atomic.Bool
}

// New returns a Gate for cfg, its metrics registered on reg; log may be nil.
func New(cfg Config, log *zap.Logger, reg prometheus.Registerer) (*Gate, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	proceed, _ := protocol.Proceed{Upstream: cfg.name()}.Line()
	return &Gate{
		cfg: cfg, log: log, m: newMetrics(reg), proceed: proceed,
		dialer: net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: -1},
		open:   map[*tunnel]struct{}{}, perIP: map[netip.Addr]int{},
	}, nil
}

// Refusals the client is told before its tunnel opens.
var (
	errFull    = &protocol.Error{Code: protocol.CodeBusy, Reason: "too many tunnels open; try again later"}
	errPerIP   = &protocol.Error{Code: protocol.CodeBusy, Reason: "too many tunnels from your address; close one first"}
	errClosing = &protocol.Error{Code: protocol.CodeBusy, Reason: "server is shutting down"}
)

// ServeProven implements powserver.Handler: it opens a tunnel to the
// upstream and relays until the tunnel ends.
func (g *Gate) ServeProven(p *powserver.Proven) error {
	t, ref := g.take(p)
	if ref != nil {
		g.m.outcome("busy").Inc()
		tell(p, ref)
		return ref
	}
	defer g.drop(t)
	p.Detach()

	start := time.Now()
	up, err := g.dialer.Dial("tcp", g.cfg.Upstream)
	g.m.dialSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		g.lastDial.Store(time.Now().UnixNano())
		g.m.dialErrors.Inc()
		g.m.outcome("upstream").Inc()
		g.log.Debug("upstream dial failed", zap.String("upstream", g.cfg.Upstream), zap.Error(err))
		refusal := &protocol.Error{Code: protocol.CodeUpstream, Reason: "cannot reach the service behind this gate: " + dialReason(err)}
		tell(p, refusal)
		return refusal
	}
	g.lastDial.Store(0)
	g.mu.Lock()
	t.up = up // under mu: CloseAll reads it
	closing := g.closing
	g.mu.Unlock()
	if closing { // CloseAll ran while the dial did
		up.Close()
		g.m.outcome("shutdown").Inc()
		return errClosing
	}
	if err := g.open1(t, p); err != nil {
		up.Close()
		g.m.outcome("gone").Inc()
		return err
	}
	outcome := t.relay(g.cfg.IdleTimeout, g.cfg.MaxLifetime, g.m)
	g.m.outcome(outcome).Inc()
	return nil
}

// open1 writes the PROXY header to the upstream and PROCEED to the client,
// then passes on what the client sent ahead of PROCEED.
func (g *Gate) open1(t *tunnel, p *powserver.Proven) error {
	if g.cfg.ProxyProtocol {
		h := proxyproto.HeaderProxyFromAddrs(2, p.Conn.RemoteAddr(), p.Conn.LocalAddr())
		t.up.SetWriteDeadline(time.Now().Add(g.cfg.DialTimeout))
		if _, err := h.WriteTo(t.up); err != nil {
			return fmt.Errorf("PROXY header to the upstream: %w", err)
		}
	}
	p.Conn.SetWriteDeadline(time.Now().Add(p.WriteTimeout))
	if _, err := p.Conn.Write(g.proceed); err != nil {
		return fmt.Errorf("PROCEED: %w", err)
	}
	if early := p.Buffered(); len(early) > 0 {
		t.up.SetWriteDeadline(time.Now().Add(g.cfg.IdleTimeout))
		n, err := t.up.Write(early)
		g.m.bytesUp.Add(float64(n))
		if err != nil {
			return fmt.Errorf("early bytes to the upstream: %w", err)
		}
	}
	return nil
}

// take gives p's client a tunnel if the caps allow.
func (g *Gate) take(p *powserver.Proven) (*tunnel, *protocol.Error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closing:
		return nil, errClosing
	case len(g.open) >= g.cfg.MaxTunnels:
		return nil, errFull
	case g.perIP[p.Client] >= g.cfg.MaxTunnelsPerIP:
		return nil, errPerIP
	}
	t := &tunnel{client: p.Client, conn: p.Conn}
	g.open[t] = struct{}{}
	g.perIP[p.Client]++
	g.m.open.Set(float64(len(g.open)))
	return t, nil
}

// drop forgets t.
func (g *Gate) drop(t *tunnel) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.open, t)
	if g.perIP[t.client]--; g.perIP[t.client] <= 0 {
		delete(g.perIP, t.client)
	}
	g.m.open.Set(float64(len(g.open)))
}

// Open returns how many tunnels are open.
func (g *Gate) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.open)
}

// CloseAll ends every open tunnel and refuses new ones: the server's
// shutdown calls it when its grace period (-shutdown-timeout) is over.
func (g *Gate) CloseAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closing = true
	for t := range g.open {
		t.end("shutdown")
	}
}

// Ready reports whether the upstream is reachable, as far as the gate
// knows: after a dial failed and until one succeeds, it dials the upstream
// itself, at most once every readyProbeEvery, and reports that. A
// readiness probe alone never dials a healthy upstream.
func (g *Gate) Ready() bool {
	if g.lastDial.Load() == 0 {
		return true
	}
	now := time.Now().UnixNano()
	if last := g.probeAt.Load(); now-last < int64(readyProbeEvery) || !g.probeAt.CompareAndSwap(last, now) {
		return g.probeOK.Load()
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.DialTimeout)
	defer cancel()
	c, err := g.dialer.DialContext(ctx, "tcp", g.cfg.Upstream)
	if err == nil {
		c.Close()
		g.lastDial.Store(0)
	}
	g.probeOK.Store(err == nil)
	return err == nil
}

// readyProbeEvery bounds how often Ready dials an upstream that failed.
const readyProbeEvery = 2 * time.Second

// tell writes a refusal to the client, best effort: closing next.
func tell(p *powserver.Proven, e *protocol.Error) {
	p.Conn.SetWriteDeadline(time.Now().Add(p.WriteTimeout))
	protocol.Write(p.Conn, e)
}

// dialReason is a dial error as the client may read it: refused, timed
// out, or otherwise unreachable, without the gate's own addresses.
func dialReason(err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	return "unreachable"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tunnel is one open tunnel: the client's connection and the upstream's.
type tunnel struct {
	client netip.Addr
	conn   net.Conn // the client's
	up     net.Conn // the upstream's, once dialled

	last    atomic.Int64 // unix nanoseconds of the last byte moved either way
	endOnce sync.Once
	why     atomic.Value // string: why it ended, if the gate ended it
}

// end closes both connections, once, for why.
func (t *tunnel) end(why string) {
	t.endOnce.Do(func() {
		t.why.Store(why)
		t.conn.Close()
		if t.up != nil {
			t.up.Close()
		}
	})
}

// relay copies both ways until the tunnel ends and returns its outcome:
// "closed" (both sides finished), "idle", "lifetime", "shutdown" or
// "error".
func (t *tunnel) relay(idle, lifetime time.Duration, m *metrics) string {
	t.touch()
	stop := time.AfterFunc(lifetime, func() { t.end("lifetime") })
	defer stop.Stop()
	errs := make(chan error, 1)
	go func() { errs <- t.pipe(t.up, t.conn, idle, m.bytesUp) }()
	err := t.pipe(t.conn, t.up, idle, m.bytesDown)
	if e := <-errs; err == nil {
		err = e
	}
	t.end("closed")
	switch why, _ := t.why.Load().(string); {
	case why != "closed":
		return why
	case err != nil:
		return "error"
	}
	return "closed"
}

// pipe copies src to dst until src ends, then half-closes dst. Each copy
// reads under a deadline of idle from its start; when it passes and a byte
// moved either way since, it goes on, else the tunnel ends as idle. Its
// writes get one idle more: a copy drops what it read and could not write
// (splice's pipe, io.Copy's buffer), and a byte read just before the read
// deadline must still reach dst. A write that times out all the same (dst
// took nothing for an idle period) ends the tunnel. It returns nil when src
// ended cleanly.
func (t *tunnel) pipe(dst, src net.Conn, idle time.Duration, bytes prometheus.Counter) error {
	for {
		deadline := time.Now().Add(idle)
		src.SetReadDeadline(deadline)
		dst.SetWriteDeadline(deadline.Add(idle))
		n, err := io.Copy(dst, src) // *net.TCPConn to *net.TCPConn: splice
		if n > 0 {
			bytes.Add(float64(n))
			t.touch()
		}
		switch {
		case err == nil: // src's EOF: pass it on
			closeWrite(dst)
			return nil
		case isTimeout(err) && time.Now().After(deadline.Add(idle)):
			t.end("idle") // the write's deadline: what was read may be lost
			return nil
		case isTimeout(err) && time.Since(time.Unix(0, t.last.Load())) < idle:
			continue // the other direction moved
		case isTimeout(err):
			t.end("idle")
			return nil
		default:
			t.end("closed") // the other direction ended it, or a peer reset
			return err
		}
	}
}

func (t *tunnel) touch() { t.last.Store(time.Now().UnixNano()) }

// closeWrite half-closes c: a TCP connection directly, or the one under a
// PROXY protocol listener's connection.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite() // best effort, as a close
		return
	}
	if r, ok := c.(interface{ TCPConn() (*net.TCPConn, bool) }); ok {
		if tc, ok := r.TCPConn(); ok {
			_ = tc.CloseWrite()
		}
	}
}
