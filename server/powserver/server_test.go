package powserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/protocol"
)

// answering sends the first part of a solution line and waits until the
// server has seen it: the handshake is no longer silent.
func (ts *testServer) answering(t *testing.T, p *peer, line string) {
	t.Helper()
	p.send(line[:5])
	require.Eventually(t, func() bool {
		return gaugeValue(t, ts.reg, "powtcp_handshakes_in_flight") == 0
	}, 5*time.Second, time.Millisecond, "the server sees the answer begin")
}

// Shutdown closes the silent handshakes at once, telling each why, lets a
// session whose answer began finish, then Serve returns ErrServerClosed and
// new connections are refused.
func TestShutdownFinishesAnsweredOnly(t *testing.T) {
	ts := start(t, Config{})
	answering := dial(t, ts.addr)
	line := "SOLUTION " + solve(t, answering.challenge().Prefix) + "\n"
	ts.answering(t, answering, line)
	silent := dial(t, ts.addr)
	silent.challenge()

	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()
	require.ErrorIs(t, <-ts.done, ErrServerClosed)
	assert.False(t, ts.Ready())
	_, err := net.Dial("tcp", ts.addr)
	assert.Error(t, err, "listener closed")
	silent.wantCode(protocol.CodeBusy)

	answering.send(line[5:])
	_, err = answering.reply()
	require.NoError(t, err, "the session whose answer began is served")
	assert.NoError(t, <-shut)
	ts.waitOutcome(t, "shutdown", 1)
}

// With many silent handshakes held, Shutdown returns at once (it used to
// wait for every one of them, up to -shutdown-timeout).
func TestShutdownDoesNotWaitForSilent(t *testing.T) {
	// Windows of 30s: waiting for them would run past Shutdown's deadline.
	ts := start(t, Config{MaxConnsPerIP: 200, MinSolveWindow: 30 * time.Second})
	for range 200 {
		assert.GreaterOrEqual(t, dial(t, ts.addr).challenge().Window, 30*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, ts.Shutdown(ctx), "returned before its deadline, not after the windows")
	ts.waitOutcome(t, "shutdown", 200)
}

// Shutdown gives up at its deadline and closes what is left.
func TestShutdownDeadline(t *testing.T) {
	ts := start(t, Config{})
	p := dial(t, ts.addr)
	ts.answering(t, p, "SOLUTION "+solve(t, p.challenge().Prefix)+"\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, ts.Shutdown(ctx), context.Canceled)
	_, err := p.r.ReadLine()
	assert.Error(t, err, "connection closed by the forced shutdown")
}

// Serve returns when its context is done.
// TestServeContext: Serve serves with one accept loop or several, and
// returns, every loop with it, when its context is done or at Shutdown.
func TestServeContext(t *testing.T) {
	for _, loops := range []int{1, 4} {
		for _, stop := range []string{"context", "shutdown"} {
			t.Run(fmt.Sprintf("%d loops, %s", loops, stop), func(t *testing.T) {
				srv, err := New(testConfig(Config{}), nil, nil)
				require.NoError(t, err)
				srv.acceptLoops = loops
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- srv.Serve(ctx, ln) }()
				for range 2 * loops {
					c, err := net.Dial("tcp", ln.Addr().String())
					require.NoError(t, err)
					l, err := protocol.NewReader(c).ReadLine()
					require.NoError(t, err, "a challenge")
					_, err = protocol.ParseChallenge(l)
					require.NoError(t, err)
					c.Close()
				}
				if stop == "context" {
					cancel()
					assert.ErrorIs(t, <-done, context.Canceled)
					require.NoError(t, srv.Shutdown(context.Background()))
					return
				}
				require.NoError(t, srv.Shutdown(context.Background()))
				assert.ErrorIs(t, <-done, ErrServerClosed)
			})
		}
	}
}

// flakyListener fails its first Accepts with EMFILE, as a process out of
// file descriptors does.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// emfileOnce fails one Accept, the second, with EMFILE, once told to.
type emfileOnce struct {
	net.Listener
	calls int
	fail  chan struct{}
}

func (l *emfileOnce) Accept() (net.Conn, error) {
	if l.calls++; l.calls == 2 {
		<-l.fail
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// Out of descriptors, the server frees one by closing a silent handshake
// rather than only backing off while attackers hold every descriptor.
func TestEMFILEClosesSilentHandshake(t *testing.T) {
	fail := make(chan struct{})
	ts := startOn(t, Config{}, func(ln net.Listener) net.Listener { return &emfileOnce{Listener: ln, fail: fail} })
	silent := dial(t, ts.addr)
	silent.challenge()
	close(fail)
	silent.wantCode(protocol.CodeBusy)
	ts.waitOutcome(t, "evicted", 1)
	p := dial(t, ts.addr)
	p.send("SOLUTION " + solve(t, p.challenge().Prefix) + "\n")
	_, err := p.reply()
	require.NoError(t, err)
}

func TestAcceptSurvivesEMFILE(t *testing.T) {
	ts := startOn(t, Config{}, func(ln net.Listener) net.Listener { return &flakyListener{Listener: ln, fails: 3} })
	p := dial(t, ts.addr)
	p.send("SOLUTION " + solve(t, p.challenge().Prefix) + "\n")
	_, err := p.reply()
	require.NoError(t, err)
	assert.Equal(t, 3.0, counterValue(t, ts.reg, "powtcp_accept_errors_total", ""))
}

// One address that connects fast gets harder challenges; calm brings them back down.
func TestAdaptiveDifficultyPerClient(t *testing.T) {
	ts := start(t, Config{Difficulty: 2, MaxExtraBits: 6, MaxConnsPerIP: 1000})
	bits := func(ip string) int {
		p := dialFrom(t, ts.addr, ip)
		st, err := hashcash.ParsePrefix(p.challenge().Prefix)
		require.NoError(t, err)
		p.conn.Close()
		return st.Bits
	}
	assert.Equal(t, 2, bits("127.0.0.7"))
	var last int
	for range 80 { // 80 connections in one instant: rate 8/s, two doublings over calm
		last = bits("127.0.0.7")
	}
	assert.Equal(t, 4, last)
	assert.Equal(t, 2, bits("127.0.0.8"), "other addresses are not affected")
	ts.clock.Advance(time.Minute)
	assert.Equal(t, 2, bits("127.0.0.7"), "calm brings the difficulty back")
}

func TestAdminEndpoints(t *testing.T) {
	ts := start(t, Config{MaxConnsPerIP: 1})
	admin := httptest.NewServer(AdminHandler(ts.Server, ts.reg, false))
	defer admin.Close()

	// One served, one bad solution, one busy.
	p := dial(t, ts.addr)
	p.send("SOLUTION " + solve(t, p.challenge().Prefix) + "\n")
	_, err := p.reply()
	require.NoError(t, err)
	p = dialFrom(t, ts.addr, "127.0.0.2") // another address: the first may not be released yet
	c := p.challenge()
	busy := dialFrom(t, ts.addr, "127.0.0.2")
	_, err = busy.r.ReadChallenge()
	require.Error(t, err)
	short, _ := wrongwork.Short(c.Prefix)
	p.send("SOLUTION " + short + "\n")
	p.wantCode(protocol.CodeBadSolution)

	ts.waitOutcome(t, "bad-solution", 1)
	metrics := scrape(t, admin.URL+"/metrics")
	assert.Equal(t, 1.0, metrics[`powtcp_sessions_total{outcome="served"}`])
	assert.Equal(t, 1.0, metrics[`powtcp_sessions_total{outcome="bad-solution"}`])
	assert.Equal(t, 1.0, metrics[`powtcp_connections_refused_total{reason="per_ip"}`])
	assert.Equal(t, 1.0, metrics[`powtcp_quotes_served_total`])
	assert.Equal(t, 1.0, metrics[`powtcp_replay_cache_entries`])
	assert.Equal(t, 8.0, metrics[`powtcp_difficulty_bits`])
	assert.Equal(t, 2.0, metrics[`powtcp_handshake_duration_seconds_count`])

	assert.Equal(t, http.StatusOK, get(t, admin.URL+"/healthz"))
	assert.Equal(t, http.StatusOK, get(t, admin.URL+"/readyz"))
	assert.Equal(t, http.StatusNotFound, get(t, admin.URL+"/debug/pprof/"), "pprof is off unless enabled")
	require.NoError(t, ts.Shutdown(context.Background()))
	assert.Equal(t, http.StatusServiceUnavailable, get(t, admin.URL+"/readyz"), "not ready while shutting down")
	assert.Equal(t, http.StatusOK, get(t, admin.URL+"/healthz"), "still alive")

	withPprof := httptest.NewServer(AdminHandler(ts.Server, ts.reg, true))
	defer withPprof.Close()
	assert.Equal(t, http.StatusOK, get(t, withPprof.URL+"/debug/pprof/"))
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// scrape reads a Prometheus text exposition into name{labels} -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		require.NoError(t, err, l)
		m[l[:i]] = v
	}
	require.NoError(t, sc.Err())
	return m
}

// counterValue reads one metric from reg; labels is "" or `k="v"`.
func counterValue(t *testing.T, reg *prometheus.Registry, name, labels string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+`="`+lp.GetValue()+`"`)
			}
			if strings.Join(ls, ",") == labels {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("metric %s{%s} not found", name, labels)
	return 0
}

// A full table raises the difficulty only for the addresses holding several
// connections, not for a client with one.
func TestFillBitsChargedToHolders(t *testing.T) {
	ts := start(t, Config{Difficulty: 2, MaxExtraBits: 6, MaxConns: 16, MaxConnsPerIP: 16})
	bits := func(p *peer) int {
		st, err := hashcash.ParsePrefix(p.challenge().Prefix)
		require.NoError(t, err)
		return st.Bits
	}
	for range 8 {
		bits(dialFrom(t, ts.addr, "127.0.0.3"))
	}
	assert.Equal(t, 5, bits(dialFrom(t, ts.addr, "127.0.0.3")), "9 of 16 held: +3 for the holder")
	assert.Equal(t, 2, bits(dialFrom(t, ts.addr, "127.0.0.4")), "a client with one connection pays the base")
}

// When full, a handshake of an address holding several goes before one of
// an address holding one.
func TestCapEvictsHeavyHolderFirst(t *testing.T) {
	ts := start(t, Config{MaxConns: 3, MaxConnsPerIP: 3})
	honest := dialFrom(t, ts.addr, "127.0.0.2")
	c := honest.challenge()
	attacker1 := dialFrom(t, ts.addr, "127.0.0.3")
	attacker1.challenge()
	attacker2 := dialFrom(t, ts.addr, "127.0.0.3")
	attacker2.challenge()
	newcomer := dialFrom(t, ts.addr, "127.0.0.4")
	newcomer.challenge()

	attacker1.wantCode(protocol.CodeBusy) // the heavy holder's handshake is closed, with a reason
	honest.send("SOLUTION " + solve(t, c.Prefix) + "\n")
	_, err := honest.reply()
	require.NoError(t, err, "the older single handshake survives")
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("gauge %s not found", name)
	return 0
}

// opaqueListener hands out connections that hide their socket (as a PROXY
// protocol wrapper does): the server cannot peek at them.
type opaqueListener struct{ net.Listener }

type opaqueConn struct{ net.Conn }

func (l opaqueListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return opaqueConn{c}, nil
}

// A silent connection the server cannot peek at is still silent: it is
// closed to make room, and one that answers is served, its first byte
// included (it used to count as answering at once, so it was never closed).
func TestOpaqueConnSilentUntilItSpeaks(t *testing.T) {
	ts := startOn(t, Config{MaxConns: 2, MaxConnsPerIP: 2}, func(ln net.Listener) net.Listener { return opaqueListener{ln} })
	a := dialFrom(t, ts.addr, "127.0.0.2")
	a.challenge()
	b := dialFrom(t, ts.addr, "127.0.0.3")
	b.challenge()
	c := dialFrom(t, ts.addr, "127.0.0.4")
	ch := c.challenge()
	require.Eventually(t, func() bool { return ts.Summary()["evicted"] == 1 }, 5*time.Second, time.Millisecond,
		"one of the two silent connections made room")
	c.send("SOLUTION " + solve(t, ch.Prefix) + "\n")
	_, err := c.reply()
	require.NoError(t, err)
}
