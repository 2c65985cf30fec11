package powserver

import (
	"context"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/testclock"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/protocol"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// newClock is a manual clock for stamps and rates.
func newClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
}

type testServer struct {
	*Server
	addr  string
	clock *testclock.Clock
	reg   *prometheus.Registry
	done  chan error // Serve's result
}

// testConfig is DefaultConfig with test-friendly settings (difficulty 8,
// a fixed key, no adaptive difficulty), then every non-zero field of over.
func testConfig(over Config) Config {
	cfg := DefaultConfig()
	cfg.Difficulty, cfg.MaxExtraBits, cfg.Key = 8, 0, testKey
	dst, src := reflect.ValueOf(&cfg).Elem(), reflect.ValueOf(over)
	for i := range src.NumField() {
		if f := src.Field(i); !f.IsZero() {
			dst.Field(i).Set(f)
		}
	}
	return cfg
}

// start serves testConfig(cfg) on 127.0.0.1:0 with an injected clock.
func start(t *testing.T, cfg Config) *testServer {
	t.Helper()
	return startOn(t, cfg, nil)
}

func startOn(t *testing.T, cfg Config, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	ts := &testServer{clock: newClock(), reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	cfg = testConfig(cfg)
	cfg.Now = ts.clock.Now
	srv, err := New(cfg, zaptest.NewLogger(t), ts.reg)
	require.NoError(t, err)
	ts.Server = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ts.addr = ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	go func() { ts.done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
	})
	return ts
}

// waitOutcome polls until the server has counted n sessions of outcome:
// the server counts a session after its last line, so a client may see the
// line first.
func (ts *testServer) waitOutcome(t *testing.T, outcome string, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return ts.Summary()[outcome] == n }, 5*time.Second, time.Millisecond,
		"want %d %q, have %v", n, outcome, ts.Summary())
}

// peer is a test client speaking the protocol by hand.
type peer struct {
	t    *testing.T
	conn net.Conn
	r    *protocol.Reader
}

func dial(t *testing.T, addr string) *peer {
	t.Helper()
	return dialFrom(t, addr, "")
}

func dialFrom(t *testing.T, addr, localIP string) *peer {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &peer{t: t, conn: conn, r: protocol.NewReader(conn)}
}

func (p *peer) challenge() protocol.Challenge {
	p.t.Helper()
	c, err := p.r.ReadChallenge()
	require.NoError(p.t, err)
	return c
}

func (p *peer) send(line string) {
	p.t.Helper()
	_, err := io.WriteString(p.conn, line)
	require.NoError(p.t, err)
}

// reply reads the server's last line and checks that it closes afterwards.
func (p *peer) reply() (protocol.Quote, error) {
	p.t.Helper()
	q, err := p.r.ReadReply()
	_, eof := p.r.ReadLine()
	assert.ErrorIs(p.t, eof, io.EOF, "server closes after its reply")
	return q, err
}

func (p *peer) wantCode(code protocol.Code) {
	p.t.Helper()
	_, err := p.reply()
	var perr *protocol.Error
	require.ErrorAs(p.t, err, &perr)
	assert.Equal(p.t, code, perr.Code, "reason: %s", perr.Reason)
}

func solve(t *testing.T, prefix string) string {
	t.Helper()
	res, err := hashcash.Solve(context.Background(), prefix, hashcash.SolveOptions{Workers: 1})
	require.NoError(t, err)
	return res.Stamp
}

func TestServeValidSolution(t *testing.T) {
	ts := start(t, Config{})
	p := dial(t, ts.addr)
	c := p.challenge()
	assert.True(t, strings.HasPrefix(c.Prefix, "1:8:"), c.Prefix)
	assert.Contains(t, c.Prefix, ":127.0.0.1@powtcp:sha256:")
	p.send("SOLUTION " + solve(t, c.Prefix) + "\n")
	q, err := p.reply()
	require.NoError(t, err)
	assert.Contains(t, q.Text, " — ")
	ts.waitOutcome(t, "served", 1)
}

// Each crafted bad answer gets its own error code, then the connection closes.
func TestServeRefusesBadAnswers(t *testing.T) {
	other, err := hashcash.NewMinter(hashcash.MinterConfig{Key: []byte("another key, 16+ bytes"), TTL: time.Minute})
	require.NoError(t, err)
	sameKey := func(alg hashcash.Alg) *hashcash.Minter {
		m, err := hashcash.NewMinter(hashcash.MinterConfig{Key: testKey, Alg: alg, TTL: time.Minute, Now: newClock().Now})
		require.NoError(t, err)
		return m
	}
	tests := []struct {
		name   string
		answer func(t *testing.T, ts *testServer, prefix string) string
		want   protocol.Code
	}{
		{"garbage", func(*testing.T, *testServer, string) string { return "\x16\x03\x01 hello\n" }, protocol.CodeMalformed},
		{"not a solution line", func(*testing.T, *testServer, string) string { return "GET / HTTP/1.1\n" }, protocol.CodeMalformed},
		{"oversized line", func(*testing.T, *testServer, string) string { return strings.Repeat("A", 4096) }, protocol.CodeMalformed},
		{"other version", func(*testing.T, *testServer, string) string { return "POWTCP/2 SOLUTION x\n" }, protocol.CodeVersion},
		{"malformed stamp", func(*testing.T, *testServer, string) string { return "SOLUTION 1:8:x\n" }, protocol.CodeMalformed},
		{"short work", func(_ *testing.T, _ *testServer, prefix string) string {
			s, _ := wrongwork.Short(prefix)
			return "SOLUTION " + s + "\n"
		}, protocol.CodeBadSolution},
		{"wrong prefix (another server's challenge)", func(t *testing.T, _ *testServer, _ string) string {
			return "SOLUTION " + solve(t, other.Challenge(8, "127.0.0.1@powtcp")) + "\n"
		}, protocol.CodeForged},
		{"forged MAC", func(t *testing.T, _ *testServer, prefix string) string {
			return "SOLUTION " + wrongwork.FlipMAC(solve(t, prefix)) + "\n"
		}, protocol.CodeForged},
		{"bits lowered", func(t *testing.T, _ *testServer, prefix string) string {
			st, err := hashcash.ParsePrefix(prefix)
			require.NoError(t, err)
			st.Bits = 1
			return "SOLUTION " + solve(t, st.Prefix()) + "\n"
		}, protocol.CodeForged},
		{"another client's challenge", func(t *testing.T, _ *testServer, _ string) string {
			return "SOLUTION " + solve(t, sameKey(hashcash.SHA256).Challenge(8, "127.0.0.9@powtcp")) + "\n"
		}, protocol.CodeWrongResource},
		{"sha1 stamp presented as sha256", func(t *testing.T, _ *testServer, _ string) string {
			return "SOLUTION " + solve(t, sameKey(hashcash.SHA1).Challenge(8, "127.0.0.1@powtcp")) + "\n"
		}, protocol.CodeWrongAlg},
		{"expired", func(t *testing.T, ts *testServer, prefix string) string {
			s := solve(t, prefix)
			ts.clock.Advance(DefaultConfig().ChallengeTTL + time.Second)
			return "SOLUTION " + s + "\n"
		}, protocol.CodeExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := start(t, Config{})
			p := dial(t, ts.addr)
			c := p.challenge()
			p.send(tt.answer(t, ts, c.Prefix))
			p.wantCode(tt.want)
			ts.waitOutcome(t, string(tt.want), 1)
		})
	}
}

func TestServeRefusesReplay(t *testing.T) {
	ts := start(t, Config{})
	p := dial(t, ts.addr)
	stamp := solve(t, p.challenge().Prefix)
	p.send("SOLUTION " + stamp + "\n")
	_, err := p.reply()
	require.NoError(t, err)

	again := dial(t, ts.addr)
	again.challenge()
	again.send("SOLUTION " + stamp + "\n")
	again.wantCode(protocol.CodeReplayed)
}

// A solution that arrives one byte per write still works.
func TestServeSlowWrites(t *testing.T) {
	ts := start(t, Config{})
	p := dial(t, ts.addr)
	line := "SOLUTION " + solve(t, p.challenge().Prefix) + "\r\n"
	for i := range len(line) {
		p.send(line[i : i+1])
	}
	_, err := p.reply()
	require.NoError(t, err)
}

func TestServeTooSlow(t *testing.T) {
	ts := start(t, Config{MinSolveWindow: 50 * time.Millisecond, ClientHashRate: 1e12})
	p := dial(t, ts.addr)
	c := p.challenge()
	assert.Equal(t, 50*time.Millisecond, c.Window)
	p.wantCode(protocol.CodeTooSlow)
	assert.Equal(t, 1.0, counterValue(t, ts.reg, "powtcp_solve_timeouts_total", ""))
}

func TestPerIPCap(t *testing.T) {
	ts := start(t, Config{MaxConnsPerIP: 2})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.challenge()
	b.challenge()
	c := dial(t, ts.addr)
	_, err := c.r.ReadChallenge()
	var perr *protocol.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, protocol.CodeBusy, perr.Code)

	// Another address is not affected.
	d := dialFrom(t, ts.addr, "127.0.0.2")
	d.challenge()
}

// When full, a silent handshake makes room, told why; a connection whose
// answer began is never closed to make room.
func TestCapEvictsSilentNotAnswering(t *testing.T) {
	ts := start(t, Config{MaxConns: 2, MaxConnsPerIP: 2})
	answering := dialFrom(t, ts.addr, "127.0.0.2")
	line := "SOLUTION " + solve(t, answering.challenge().Prefix) + "\n"
	answering.send(line[:5])
	silent := dialFrom(t, ts.addr, "127.0.0.3")
	silent.challenge()
	require.Eventually(t, func() bool { // the server saw the answer begin
		return gaugeValue(t, ts.reg, "powtcp_handshakes_in_flight") == 1
	}, 5*time.Second, time.Millisecond)

	third := dialFrom(t, ts.addr, "127.0.0.4")
	c := third.challenge()
	silent.wantCode(protocol.CodeBusy)
	third.send("SOLUTION " + solve(t, c.Prefix) + "\n")
	_, err := third.reply()
	require.NoError(t, err)
	answering.send(line[5:])
	_, err = answering.reply()
	require.NoError(t, err, "the answering connection survives")
	ts.waitOutcome(t, "evicted", 1)
}

// One address redeeming solutions until the replay cache would be full gets
// "busy" once it holds its share (an eighth); every other address is still
// served. (It used to fill the cache and lock everyone out.)
func TestReplayCacheShare(t *testing.T) {
	ts := start(t, Config{ReplayCacheSize: 50})
	redeem := func(ip string) error {
		p := dialFrom(t, ts.addr, ip)
		p.send("SOLUTION " + solve(t, p.challenge().Prefix) + "\n")
		_, err := p.reply()
		return err
	}
	for i := range (Config{ReplayCacheSize: 50}).ReplayShare() {
		require.NoError(t, redeem("127.0.0.2"), "redemption %d", i)
	}
	err := redeem("127.0.0.2")
	var perr *protocol.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, protocol.CodeBusy, perr.Code)
	assert.Contains(t, perr.Reason, "too many")
	for _, ip := range []string{"127.0.0.3", "127.0.0.4", "127.0.0.5"} {
		assert.NoError(t, redeem(ip), ip)
	}
}
