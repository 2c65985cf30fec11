package gate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/powtcp/powtcp/client/powclient"
	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/server/powserver"
)

// upstream is a TCP service for the tests: each connection gets handle;
// accepted counts the connections it saw.
type upstream struct {
	ln       net.Listener
	accepted atomic.Int64
}

func startUpstream(t *testing.T, handle func(net.Conn)) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := &upstream{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.accepted.Add(1)
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return u
}

// echo sends back what it reads; discard reads and drops it. Both end
// with the connection, whose error is of no interest.
func echo(c net.Conn)    { _, _ = io.Copy(c, c) }
func discard(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// echoUpper answers everything it reads in upper case, and closes when
// the client half-closes: a protocol whose client side finishes first.
func echoUpper(c net.Conn) {
	b, _ := io.ReadAll(c)
	_, _ = c.Write(bytes.ToUpper(b)) // the test reads what arrived
}

type testGate struct {
	*Gate
	srv  *powserver.Server
	addr string
	reg  *prometheus.Registry
}

// startGate serves a gate in front of upstream at difficulty 8.
func startGate(t *testing.T, upstream string, edit func(*Config)) *testGate {
	t.Helper()
	return startGateOn(t, upstream, edit, nil)
}

// startGateOn is startGate with the listener wrapped by wrap (nil: none).
func startGateOn(t *testing.T, upstream string, edit func(*Config), wrap func(net.Listener) net.Listener) *testGate {
	t.Helper()
	cfg := DefaultConfig(upstream)
	cfg.Name = "echo"
	if edit != nil {
		edit(&cfg)
	}
	reg := prometheus.NewRegistry()
	g, err := New(cfg, zaptest.NewLogger(t), reg)
	require.NoError(t, err)
	scfg := powserver.DefaultConfig()
	scfg.Difficulty, scfg.MaxExtraBits, scfg.Handler = 8, -1, g
	srv, err := powserver.New(scfg, zaptest.NewLogger(t), reg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		assert.ErrorIs(t, <-served, powserver.ErrServerClosed)
	})
	return &testGate{Gate: g, srv: srv, addr: addr, reg: reg}
}

func dialGate(t *testing.T, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := powclient.Dial(ctx, addr, powclient.Options{Workers: 1}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// Bytes go both ways unchanged, and a half-close is passed on: the client
// writes, closes its side, and still reads the whole answer.
func TestRelayHalfClose(t *testing.T) {
	up := startUpstream(t, echoUpper)
	g := startGate(t, up.ln.Addr().String(), nil)
	c := dialGate(t, g.addr)
	payload := strings.Repeat("hello gate ", 100000) // 1.1 MB
	go func() {
		_, _ = io.WriteString(c, payload) // the reply checks what arrived
		_ = c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, strings.ToUpper(payload), string(got))
	require.Eventually(t, func() bool { return g.Open() == 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1.0, value(g.m.outcome("closed")))
	assert.Equal(t, float64(len(payload)), value(g.m.bytesUp))
	assert.Equal(t, float64(len(payload)), value(g.m.bytesDown))
}

// A server that speaks first (as SSH does) reaches the client even when
// its first bytes arrive with PROCEED.
func TestUpstreamSpeaksFirst(t *testing.T) {
	up := startUpstream(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "SSH-2.0-test\r\n") // the test reads what arrived
		discard(c)
	})
	g := startGate(t, up.ln.Addr().String(), nil)
	c := dialGate(t, g.addr)
	l, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "SSH-2.0-test\r\n", l)
}

// A wrong or replayed proof gets its error line, and the upstream never
// sees a connection.
func TestInvalidProofNeverReachesUpstream(t *testing.T) {
	up := startUpstream(t, echoUpper)
	g := startGate(t, up.ln.Addr().String(), nil)
	ctx := context.Background()
	_, err := powclient.Dial(ctx, g.addr, powclient.Options{Workers: 1, Tamper: wrongwork.Forged.Tamper()}, nil)
	var perr *protocol.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, protocol.CodeForged, perr.Code)

	var stamp string
	c, err := powclient.Dial(ctx, g.addr, powclient.Options{Workers: 1, Tamper: func(_, s string) string { stamp = s; return s }}, nil)
	require.NoError(t, err)
	// A round trip, so that the upstream has counted this connection
	// before the count is read below (its accept loop runs on its own).
	_, err = io.WriteString(c, "proof")
	require.NoError(t, err)
	require.NoError(t, c.(interface{ CloseWrite() error }).CloseWrite())
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "PROOF", string(got))
	c.Close()
	sess, err := powclient.DialSession(ctx, g.addr, nil)
	require.NoError(t, err)
	defer sess.Close()
	_, err = sess.Redeem(stamp)
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, protocol.CodeReplayed, perr.Code)
	assert.Equal(t, int64(1), up.accepted.Load(), "only the valid proof reached the upstream")
}

// An upstream that is down: the client is told so, the failure is
// counted, and the gate is not ready until the upstream is back.
func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	g := startGate(t, addr, nil)
	_, err = powclient.Dial(context.Background(), g.addr, powclient.Options{Workers: 1}, nil)
	var perr *protocol.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, protocol.CodeUpstream, perr.Code)
	assert.Contains(t, perr.Reason, "connection refused")
	assert.Equal(t, 1.0, value(g.m.dialErrors))
	assert.False(t, g.srv.Ready(), "not ready while the upstream refuses")
}

// A quote client that reaches a gate, and a tunnel client that reaches a
// quote service, each learn what they reached.
func TestClientKnowsGateFromQuoteService(t *testing.T) {
	up := startUpstream(t, echoUpper)
	g := startGate(t, up.ln.Addr().String(), nil)
	_, err := powclient.Fetch(context.Background(), g.addr, powclient.Options{Workers: 1})
	assert.ErrorIs(t, err, protocol.ErrNotQuote)

	scfg := powserver.DefaultConfig()
	scfg.Difficulty = 8
	srv, err := powserver.New(scfg, nil, nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	defer func() {
		assert.NoError(t, srv.Shutdown(context.Background()))
		assert.ErrorIs(t, <-served, powserver.ErrServerClosed)
	}()
	_, err = powclient.Dial(context.Background(), ln.Addr().String(), powclient.Options{Workers: 1}, nil)
	assert.ErrorIs(t, err, protocol.ErrNotGate)
}

// A tunnel in which nothing moves ends after the idle timeout; one that
// keeps talking is ended by its lifetime.
func TestIdleAndLifetime(t *testing.T) {
	up := startUpstream(t, echo)
	g := startGate(t, up.ln.Addr().String(), func(c *Config) { c.IdleTimeout = 100 * time.Millisecond })
	c := dialGate(t, g.addr)
	_, err := c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "closed for idleness")
	require.Eventually(t, func() bool { return value(g.m.outcome("idle")) == 1 }, 5*time.Second, time.Millisecond)

	g2 := startGate(t, up.ln.Addr().String(), func(c *Config) { c.MaxLifetime = 200 * time.Millisecond })
	c2 := dialGate(t, g2.addr)
	buf := make([]byte, 4)
	for {
		if _, err := c2.Write([]byte("ping")); err != nil {
			break
		}
		if _, err := io.ReadFull(c2, buf); err != nil {
			break
		}
	}
	require.Eventually(t, func() bool { return value(g2.m.outcome("lifetime")) == 1 }, 5*time.Second, time.Millisecond)
}

// Bytes that arrive as the idle deadline passes are relayed, not dropped:
// each copy reads under the idle deadline, and a byte read just before it
// must still be written (splice, and io.Copy's buffer, drop what they read
// and could not write). A client trickles single bytes across many
// deadlines and reads each back from an echo upstream.
func TestTrickleAcrossIdleDeadlines(t *testing.T) {
	up := startUpstream(t, echo)
	g := startGate(t, up.ln.Addr().String(), func(c *Config) { c.IdleTimeout = 200 * time.Millisecond })
	c := dialGate(t, g.addr)
	buf := make([]byte, 1)
	for i := range 400 { // about 3 s, 15 deadlines each way
		b := byte('a' + i%26)
		time.Sleep(time.Duration(2+i%7) * time.Millisecond) // a byte now and then, never idle for the timeout
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Write([]byte{b})
		require.NoError(t, err, "byte %d", i)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err, "byte %d: the gate ended the tunnel (or lost a byte); idle %v closed %v lifetime %v", i,
			value(g.m.outcome("idle")), value(g.m.outcome("closed")), value(g.m.outcome("lifetime")))
		require.Equal(t, string(b), string(buf), "byte %d", i)
	}
}

// One address holds at most MaxTunnelsPerIP tunnels; the next is told busy.
func TestTunnelsPerIP(t *testing.T) {
	up := startUpstream(t, discard)
	g := startGate(t, up.ln.Addr().String(), func(c *Config) { c.MaxTunnelsPerIP = 2 })
	dialGate(t, g.addr)
	dialGate(t, g.addr)
	// Both tunnels open, and both counted by the upstream, whose accept
	// loop runs on its own: the count below is then the third's to move.
	require.Eventually(t, func() bool { return g.Open() == 2 && up.accepted.Load() == 2 }, 5*time.Second, time.Millisecond)
	_, err := powclient.Dial(context.Background(), g.addr, powclient.Options{Workers: 1}, nil)
	var perr *protocol.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, protocol.CodeBusy, perr.Code)
	assert.Equal(t, int64(2), up.accepted.Load())
}

// proxyUpstream starts an upstream that reads a PROXY header, passes it
// and the rest of the connection to then, and sends what then returns (or
// the header's error) on the channel it returns.
func proxyUpstream(t *testing.T, then func(h *proxyproto.Header, r *bufio.Reader, c net.Conn) string) (*upstream, <-chan string) {
	t.Helper()
	got := make(chan string, 1)
	up := startUpstream(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		h, err := proxyproto.Read(r)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- then(h, r, c)
	})
	return up, got
}

// With ProxyProtocol the upstream learns the client's address from a v2
// header before the client's first byte.
func TestUpstreamProxyProtocol(t *testing.T) {
	up, got := proxyUpstream(t, func(h *proxyproto.Header, r *bufio.Reader, _ net.Conn) string {
		l, _ := r.ReadString('\n')
		return h.SourceAddr.String() + " v" + string(rune('0'+h.Version)) + " " + l
	})
	g := startGate(t, up.ln.Addr().String(), func(c *Config) { c.ProxyProtocol = true })
	c := dialGate(t, g.addr)
	_, err := io.WriteString(c, "hi\n")
	require.NoError(t, err)
	assert.Equal(t, c.LocalAddr().String()+" v2 hi\n", <-got)
}

// Shutdown's deadline ends open tunnels.
func TestShutdownClosesTunnels(t *testing.T) {
	up := startUpstream(t, discard)
	g := startGate(t, up.ln.Addr().String(), nil)
	c := dialGate(t, g.addr)
	require.Eventually(t, func() bool { return g.Open() == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.True(t, errors.Is(g.srv.Shutdown(ctx), context.DeadlineExceeded), "the tunnel outlived the grace period")
	_, err := c.Read(make([]byte, 1))
	assert.Error(t, err)
	assert.Equal(t, 1.0, value(g.m.outcome("shutdown")))
}

// value is a counter's or a gauge's value.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if c := d.GetCounter(); c != nil {
		return c.GetValue()
	}
	return d.GetGauge().GetValue()
}

// Behind a balancer that sends PROXY headers, the gate passes on the
// client's address the balancer named, and half-closes still cross it
// (the listener's connection wraps the TCP one).
func TestBehindProxyProtocolBalancer(t *testing.T) {
	up, got := proxyUpstream(t, func(h *proxyproto.Header, r *bufio.Reader, c net.Conn) string {
		b, _ := io.ReadAll(r) // to the client's half-close
		_, _ = io.WriteString(c, "bye")
		return h.SourceAddr.String() + " " + string(b)
	})
	g := startGateOn(t, up.ln.Addr().String(), func(c *Config) { c.ProxyProtocol = true }, func(ln net.Listener) net.Listener {
		return &proxyproto.Listener{Listener: ln}
	})
	c, err := net.Dial("tcp", g.addr)
	require.NoError(t, err)
	defer c.Close()
	client := &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 40000}
	_, err = proxyproto.HeaderProxyFromAddrs(2, client, c.RemoteAddr()).WriteTo(c)
	require.NoError(t, err)
	r := protocol.NewReader(c)
	ch, err := r.ReadChallenge()
	require.NoError(t, err)
	assert.Contains(t, ch.Prefix, ":203.0.113.7@", "the challenge is bound to the balancer's client")
	require.NoError(t, protocol.Write(c, protocol.Solution{Stamp: wrongwork.Solve(hashcash.SHA256, ch.Prefix, 8)}))
	_, err = r.ReadProceed()
	require.NoError(t, err)
	_, err = io.WriteString(c, "hello")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	assert.Equal(t, "203.0.113.7:40000 hello", <-got)
	rest, err := io.ReadAll(io.MultiReader(bytes.NewReader(r.Buffered()), c))
	require.NoError(t, err)
	assert.Equal(t, "bye", string(rest))
}
