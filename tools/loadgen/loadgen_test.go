package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/server/gate"
	"github.com/powtcp/powtcp/server/powserver"
	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// TestMain: the tests mostly wait on the network and timers, so more of
// them run in parallel than there are CPUs, unless -test.parallel says
// otherwise. A goroutine that outlives the tests
// fails them (goleak).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == honestClientsCmd {
		os.Exit(honestClientsMain(os.Args[2:], os.Stdout, os.Stderr)) // the tests' honest clients
	}
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "8") // a flag the testing package defines
	}
	goleak.VerifyTestMain(m)
}

// startServer serves powserver on 127.0.0.1:0 in this process, with a
// short challenge lifetime so that expired stamps come quickly, and small
// caps so that eviction and refusals happen.
func startServer(t *testing.T) string {
	t.Helper()
	return startServerWith(t, nil)
}

// startServerWith is startServer with edit applied to its settings.
func startServerWith(t *testing.T, edit func(*powserver.Config)) string {
	t.Helper()
	cfg := powserver.DefaultConfig()
	cfg.Difficulty, cfg.MaxExtraBits = 6, 2
	cfg.ChallengeTTL, cfg.MinSolveWindow = 2*time.Second, time.Second
	cfg.MaxConns, cfg.MaxConnsPerIP = 200, 16
	cfg.ReplayCacheSize = 400 // an address's share is 50: replayfill reaches it
	if edit != nil {
		edit(&cfg)
	}
	return serveInProcess(t, cfg, nil)
}

// serveInProcess serves cfg on 127.0.0.1:0 in this process, with its
// metrics on reg (nil: a private registry), until the test ends: then
// Shutdown must succeed and Serve end because of it.
func serveInProcess(t *testing.T, cfg powserver.Config, reg prometheus.Registerer) string {
	t.Helper()
	srv, err := powserver.New(cfg, nil, reg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		assert.ErrorIs(t, <-done, powserver.ErrServerClosed, "Serve must end only because of Shutdown")
	})
	return ln.Addr().String()
}

// startGate serves a gate (powserver with gate's handler) on 127.0.0.1:0
// in this process, in front of an echo upstream also served here, with
// short tunnel limits so that the idle timeout, the lifetime and the
// per-address cap all act within a smoke run.
func startGate(t *testing.T) (string, *echoUpstream) {
	t.Helper()
	up, err := startEcho()
	require.NoError(t, err)
	t.Cleanup(up.Close) // after the server's shutdown: cleanups run last first
	gcfg := gate.DefaultConfig(up.Addr())
	gcfg.Name = "echo"
	gcfg.IdleTimeout, gcfg.MaxLifetime = time.Second, 1500*time.Millisecond
	gcfg.MaxTunnels, gcfg.MaxTunnelsPerIP = 64, 4
	reg := prometheus.NewRegistry()
	g, err := gate.New(gcfg, zap.NewNop(), reg)
	require.NoError(t, err)
	cfg := powserver.DefaultConfig()
	cfg.Difficulty, cfg.MaxExtraBits = 6, 2
	cfg.MaxConns, cfg.MaxConnsPerIP = 200, 16
	cfg.Handler = g
	// Cleanups run last first: the tunnels are counted after the server's
	// shutdown closed them.
	t.Cleanup(func() { assert.Zero(t, g.Open(), "tunnels left open") })
	return serveInProcess(t, cfg, reg), up
}

// TestGateScenarios runs the gate scenarios, each alone, against a gate in
// this process: honest clients served through their tunnels, every
// attack's tunnels counted and ended for the expected reason. Not parallel
// with the other tests (its subtests are with each other): their timing
// on a loaded machine stays what it was.
func TestGateScenarios(t *testing.T) {
	tests := []struct {
		give  []string
		kinds map[string][]string
	}{
		{give: []string{scHonest}},
		{give: []string{scHonest, scTunnelHold}, kinds: map[string][]string{scTunnelHold: {"hold"}}},
		{give: []string{scHonest, scTrickle}, kinds: map[string][]string{scTrickle: {"trickle"}}},
		{give: []string{scHonest, scStall}, kinds: map[string][]string{scStall: {"stall", "echo"}}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, "+"), func(t *testing.T) {
			t.Parallel()
			addr, up := startGate(t)
			cfg := smokeConfig(addr, tt.give...)
			cfg.Gate, cfg.echo = true, up
			rep, err := loadtest(t.Context(), cfg, zap.NewNop())
			require.NoError(t, err)
			checkReport(t, rep, tt.kinds)
			require.NotNil(t, rep.Gate)
			assert.Empty(t, rep.Unloaded.Honest.Failures, "honest failures unloaded")
			if tt.kinds[scStall] != nil {
				assert.Positive(t, rep.Gate.Stalled, "the upstream held stalled connections")
			}
			if tt.kinds[scTunnelHold] != nil {
				assert.Positive(t, rep.Attackers[scTunnelHold].HeldPeak, "tunnels held")
				assert.Positive(t, rep.Attackers[scTunnelHold].Replies["hold"]["open-busy"], "the per-address cap refused some")
			}
			assert.Zero(t, up.stalled(), "stalled connections released")
		})
	}
}

// smokeConfig is a run of a second or two with small counts.
func smokeConfig(addr string, scenarios ...string) config {
	return config{
		Addr: addr, Scenarios: scenarios,
		Unloaded: time.Second, Duration: 2 * time.Second, Ramp: 5 * time.Second,
		Settle: 200 * time.Millisecond, Calibrate: 100 * time.Millisecond,
		Honest: 2, HonestWorkers: 1, HonestIPs: 50, SessionTimeout: 20 * time.Second,
		Slowloris: 100, SlowlorisPerIP: 10, Garbage: 2, WrongWork: 2, Storm: 1, ReplayFill: 2, InflateBurst: 50,
		Redial: 200, RedialIPs: 4, SolveFlood: 2, SolveFloodIPs: 16,
		TunnelHold: 16, TunnelHoldIPs: 2, Trickle: 4, TrickleEvery: 50 * time.Millisecond, Stall: 4, StallIPs: 2,
		ChallengeTTL: 2 * time.Second, Timeout: time.Minute,
	}
}

// TestScenarios runs every scenario alone against a real server and checks
// correctness only: nothing wrong accepted, every attack refused for the
// right reason, honest clients served, the server still up.
func TestScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		give  []string
		kinds map[string][]string // attacker -> kinds that must have been refused as expected
	}{
		{give: []string{scHonest}},
		{give: []string{scHonest, scSlowloris}, kinds: map[string][]string{scSlowloris: {"held"}}},
		{give: []string{scHonest, scGarbage}, kinds: map[string][]string{scGarbage: kindNames(garbageKinds)}},
		{give: []string{scHonest, scWrongWork}, kinds: map[string][]string{scWrongWork: kindNames(wrongKinds)}},
		{give: []string{scHonest, scStorm}, kinds: map[string][]string{scStorm: {"read-close"}}},
		{give: []string{scHonest, scReplay}, kinds: map[string][]string{scReplay: {"redeem"}}},
		{give: []string{scHonest, scInflate}, kinds: map[string][]string{scInflate: {"window"}}},
		{give: []string{scHonest, scRedial}, kinds: map[string][]string{scRedial: {"redial"}}},
		{give: []string{scHonest, scSolve}, kinds: map[string][]string{scSolve: {"solve"}}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, "+"), func(t *testing.T) {
			t.Parallel()
			cfg := smokeConfig(startServer(t), tt.give...)
			cfg.StorePID = os.Getpid() // a stand-in for the store's process: its CPU is read
			if tt.kinds[scWrongWork] != nil {
				cfg.Duration = 3 * time.Second // expired stamps need the challenge TTL to pass
			}
			rep, err := loadtest(t.Context(), cfg, zap.NewNop())
			require.NoError(t, err)
			checkReport(t, rep, tt.kinds)
			assert.Positive(t, rep.Unloaded.StoreCPUPerSession, "the store process's CPU per session")
		})
	}
}

// TestRedialKeepsPrice: a re-dial flood far over the per-address cap,
// never solving, leaves honest clients at the base difficulty, while the
// per-address cap refuses most of it.
func TestRedialKeepsPrice(t *testing.T) {
	t.Parallel()
	// A calm rate the flood's connections (over a thousand a second) would
	// pass many times over if they counted, and the honest clients' proofs
	// (slowed to at most 10 a second, from 1,000 addresses so that none
	// earns client bits) never reach: any bit above the base would be the
	// flood's.
	cfg := smokeConfig(startServerWith(t, func(c *powserver.Config) { c.CalmProofRate = 50 }), scHonest, scRedial)
	cfg.HonestIPs, cfg.HonestDelay = 1000, 200*time.Millisecond
	cfg.Redial, cfg.RedialIPs = 400, 2 // 200 sockets per address against a cap of 16
	rep, err := loadtest(t.Context(), cfg, zap.NewNop())
	require.NoError(t, err)
	checkReport(t, rep, map[string][]string{scRedial: {"redial"}})
	assert.Positive(t, rep.Attackers[scRedial].Replies["redial"]["open-busy"], "the per-address cap refused the flood")
	assert.Equal(t, 6, rep.Attack.Honest.BitsMax, "honest clients pay the base price under the flood")
}

// TestRunMixed runs all scenarios at once through run, as the command
// does, and reads back its JSON.
func TestRunMixed(t *testing.T) {
	t.Parallel()
	cfg := smokeConfig(startServer(t), allScenarios...)
	cfg.Duration = 3 * time.Second
	cfg.JSON = filepath.Join(t.TempDir(), "report.json")
	cfg.Plot = filepath.Join(t.TempDir(), "run.svg")
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, zap.NewNop(), &out))
	assert.Contains(t, out.String(), "HONEST CLIENTS")
	svg, err := os.ReadFile(cfg.Plot)
	require.NoError(t, err, "-plot drew the run")
	assert.Contains(t, string(svg), "<svg")
	assert.Contains(t, out.String(), "wrong answers accepted")

	b, err := os.ReadFile(cfg.JSON)
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, run(t.Context(), config{Summarize: true, Files: []string{cfg.JSON, cfg.JSON}}, zap.NewNop(), &out))
	assert.Contains(t, out.String(), "(2 runs)")
	assert.Contains(t, out.String(), "wrong answers accepted")
	var rep report.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	checkReport(t, &rep, map[string][]string{
		scSlowloris: {"held"}, scGarbage: kindNames(garbageKinds), scWrongWork: kindNames(wrongKinds), scStorm: {"read-close"},
		scReplay: {"redeem"}, scInflate: {"window"}, scRedial: {"redial"}, scSolve: {"solve"},
	})
	phases := map[string]int{}
	for _, p := range rep.Timeline {
		phases[p.Phase] += p.Served
	}
	assert.Positive(t, phases["unloaded"], "the timeline has the unloaded phase's sessions: %v", rep.Timeline)
	assert.Positive(t, phases["attack"], "and the attack's")
}

func kindNames(kinds []kindSpec) []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.name)
	}
	return out
}

func checkReport(t *testing.T, rep *report.Report, kinds map[string][]string) {
	t.Helper()
	require.NotNil(t, rep.Unloaded)
	require.NotNil(t, rep.Attack)
	assert.Positive(t, rep.Unloaded.Honest.Served, "honest clients served unloaded")
	assert.Positive(t, rep.Attack.Honest.Served, "honest clients served under attack")
	assert.Zero(t, rep.WrongAccepted(), "wrong answers accepted: %v", rep.Attackers)
	for name, want := range kinds {
		a, ok := rep.Attackers[name]
		require.True(t, ok, "attacker %s ran", name)
		assert.Positive(t, a.Conns, "%s connected", name)
		assert.Empty(t, a.Unexpected, "%s: replies other than the expected refusal: %v; notes %q", name, a.Replies, a.Notes)
		for _, kind := range want {
			expected := wantReplies(name, kind)
			var n int64
			for _, code := range expected {
				n += a.Replies[kind][code]
			}
			assert.Positive(t, n, "%s/%s: want some of %v, got %v", name, kind, expected, a.Replies[kind])
		}
	}
}

// wantReplies is what a kind of attack must get at least once.
func wantReplies(attacker, kind string) []string {
	for _, ks := range [][]kindSpec{garbageKinds, wrongKinds} {
		for _, k := range ks {
			if k.name == kind {
				return k.expect
			}
		}
	}
	switch kind {
	case "held":
		return []string{"too-slow"}
	case "read-close":
		return []string{"challenge"}
	case "redeem":
		return []string{"busy"} // its share of the replay cache used up
	case "window":
		return []string{"ok"}
	case "redial":
		return []string{"too-slow"}
	case "solve":
		return []string{"served"}
	case "hold", "trickle":
		return []string{"closed"} // by the idle timeout, by the lifetime
	case "stall":
		return []string{"stalled"}
	case "echo":
		return []string{"echo"}
	}
	return nil
}

// TestBaselineServers runs the baseline client loop against the bare
// servers of command baseline, started as child processes the way
// -baseline starts them, and against the server at difficulty 0.
func TestBaselineServers(t *testing.T) {
	t.Parallel()
	exe := baselineForTest(t)
	cfg := config{BaselineN: 200, BaselineC: 4, BaselineTimeout: 30 * time.Second, BaselineBits: 8}
	ips := newAddrAlloc(firstHonest).take(20)
	for _, kind := range []string{bareOneLine, bareExchange, bareSeed} {
		f := filepath.Join(t.TempDir(), "addr")
		c, err := startChild(t.Context(), zap.NewNop(), kind, baselineArgv(exe, kind, 8, f), nil, f, "", nil)
		require.NoError(t, err)
		round, err := measureBaseline(t.Context(), cfg, kind, c.Addr, c.PID, ips)
		assert.NoError(t, err, kind)
		assert.Equal(t, cfg.BaselineN, round.Sessions, kind)
		assert.NoError(t, c.stop(10*time.Second), kind)
	}

	srv, err := powserver.New(fixedDifficulty(8), nil, nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	round, err := measureBaseline(t.Context(), cfg, targetPowtcp, ln.Addr().String(), os.Getpid(), ips)
	assert.NoError(t, err)
	assert.Equal(t, cfg.BaselineN, round.Sessions)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

// baselineForTest is command baseline: from the runfiles under Bazel
// (x_defs set baselineRlocation), else built by go build into a temporary
// directory.
func baselineForTest(t *testing.T) string {
	t.Helper()
	if baselineRlocation != "" {
		p, err := baselineBin("")
		require.NoError(t, err)
		return p
	}
	p := filepath.Join(t.TempDir(), "baseline")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", p, "github.com/powtcp/powtcp/tools/baseline").CombinedOutput()
	require.NoError(t, err, "go build ./tools/baseline: %s", out)
	return p
}

// fixedDifficulty is the default configuration at bits, with no adaptive bits.
func fixedDifficulty(bits int) powserver.Config {
	cfg := powserver.DefaultConfig()
	cfg.Difficulty, cfg.MaxExtraBits = bits, 0
	return cfg
}

// TestCraft checks that every wrong answer is wrong in the way it claims,
// against the server's own verification.
func TestCraft(t *testing.T) {
	srv, err := powserver.New(fixedDifficulty(8), nil, nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		assert.ErrorIs(t, <-done, powserver.ErrServerClosed)
	}()
	checkCraft(t, ln.Addr().String())
	_, ok := craft("short", "1:0:261125233616:127.0.0.2@powtcp:sha256:Y3dzSWf0X0WbNrcNyYn4JYl3m1hZbuPTaaBcD4e5:")
	assert.False(t, ok, "no short work at 0 bits")
}

// checkCraft sends each kind of crafted wrong answer to the server at addr
// and checks the error it answers with.
func checkCraft(t *testing.T, addr string) {
	t.Helper()
	ip := newAddrAlloc(firstAttacker).take(1)[0]
	for _, tt := range []struct{ give, want string }{
		{"short", "bad-solution"}, {"forged-mac", "forged"}, {"forged-bits", "forged"}, {"madeup", "forged"},
	} {
		t.Run(tt.give, func(t *testing.T) {
			a := newAttack("t", addr)
			lc, prefix, ok := a.open(t.Context(), ip, tt.give)
			require.True(t, ok, "challenge")
			defer lc.Close()
			stamp, ok := craft(tt.give, prefix)
			require.True(t, ok)
			require.NoError(t, lc.writeLine("SOLUTION "+stamp, 5*time.Second))
			l, err := lc.readLine(5 * time.Second)
			assert.Equal(t, tt.want, classifyLine(l, err), "reply %q", l)
		})
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		give    []string
		wantErr string
	}{
		{give: []string{"-addr", "127.0.0.1:10001"}},
		{give: []string{"-spawn", "./server", "--", "-difficulty", "8"}},
		{give: []string{}, wantErr: "want -addr"},
		{give: []string{"-addr", "10.0.0.1:10001"}, wantErr: "127.0.0.0/8"},
		{give: []string{"-addr", "127.0.0.1:1", "-spawn", "x"}, wantErr: "exclude"},
		{give: []string{"-addr", "127.0.0.1:1", "-scenario", "honest,flood"}, wantErr: `"flood"`},
		{give: []string{"-addr", "127.0.0.1:1", "-honest", "0"}, wantErr: "-honest 0"},
		{give: []string{"-addr", "127.0.0.1:1", "-baseline"}, wantErr: "-baseline needs -spawn"},
		{give: []string{"-addr", "127.0.0.1:1", "-metrics", "http://example.com/metrics"}, wantErr: "-metrics"},
		{give: []string{"-summarize"}, wantErr: "name the -json reports"},
		{give: []string{"-spawn", "./server", "-baseline", "-baseline-bin", "./baseline"}},
		{give: []string{"-spawn", "./server", "-baseline-bin", "./baseline"}, wantErr: "-baseline-bin needs -baseline"},
		{give: []string{"-addr", "127.0.0.1:1", "-alg", "equix"}},
		{give: []string{"-addr", "127.0.0.1:1", "-alg", "md5"}, wantErr: `-alg: unknown algorithm "md5"`},
		{give: []string{"-spawn", "./server", "-gate", "-scenario", "honest,tunnelhold,trickle,stall"}},
		{give: []string{"-addr", "127.0.0.1:1", "-scenario", "honest,stall"}, wantErr: "-scenario stall attacks a gate: add -gate"},
		{give: []string{"-spawn", "./server", "-scenario", "tunnelhold"}, wantErr: "add -gate"},
		{give: []string{"-addr", "127.0.0.1:1", "-gate", "-trickle-every", "0s"}, wantErr: "-trickle-every"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, " "), func(t *testing.T) {
			cfg, err := parseConfig(tt.give, &bytes.Buffer{})
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, cfg.Duration, cfg.Unloaded, "unloaded defaults to -duration")
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

// TestBaselineBin checks that a missing baseline command is an error that
// says how to provide it, and that -baseline-bin names it.
func TestBaselineBin(t *testing.T) {
	if baselineRlocation != "" {
		t.Skip("under Bazel the command comes from the runfiles")
	}
	_, err := baselineBin(filepath.Join(t.TempDir(), "baseline"))
	assert.ErrorContains(t, err, "-baseline-bin")
	exe, err := os.Executable()
	require.NoError(t, err)
	p, err := baselineBin(exe)
	require.NoError(t, err)
	assert.Equal(t, exe, p)
}

// TestClassifyLine checks the reply names the attackers count by.
func TestClassifyLine(t *testing.T) {
	for _, tt := range []struct {
		line string
		err  error
		want string
	}{
		{"QUOTE Well said. — Someone", nil, "quote"},
		{"ERROR busy server full", nil, "busy"},
		{"POWTCP/1 CHALLENGE 1:0:261125233616:127.1.0.1@powtcp:sha256:Y3dzSWf0X0WbNrcNyYn4JYl3m1hZbuPTaaBcD4e5: 2000", nil, "challenge"},
		{"HELLO", nil, "other"},
		{"", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout"},
		{"", io.EOF, "closed"},
		{"", protocol.ErrLineTooLong, "bad-line"},
		{"", errors.New("something else"), "io"},
	} {
		assert.Equal(t, tt.want, classifyLine(tt.line, tt.err), "%q, %v", tt.line, tt.err)
	}
}

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader("# HELP x\ngo_goroutines 12\npowtcp_sessions_total{outcome=\"served\"} 3\nbad\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"go_goroutines": 12, `powtcp_sessions_total{outcome="served"}`: 3}, m)
}

func TestClassifyHonest(t *testing.T) {
	assert.Equal(t, "closed", classifyHonest(errors.Join(errors.New("read reply"), os.ErrClosed, net.ErrClosed)))
	assert.Equal(t, "timeout", classifyHonest(context.DeadlineExceeded))
}

// The echo upstream sends lines back, holds a connection that starts with
// STALL without answering, and closes those on release.
func TestEchoUpstream(t *testing.T) {
	up, err := startEcho()
	require.NoError(t, err)
	defer up.Close()
	c, err := net.Dial("tcp", up.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, echoOnce(c, "hello", 5*time.Second))
	require.NoError(t, echoOnce(c, stallLine, 5*time.Second), "STALL is echoed after the first line")

	s, err := net.Dial("tcp", up.Addr())
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Write([]byte(stallLine + "\n"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return up.stalled() == 1 }, 5*time.Second, 10*time.Millisecond)
	err = echoOnce(s, "anyone there?", 200*time.Millisecond)
	assert.Equal(t, "stalled", stallReply("stall", err), "%v", err)
	up.release()
	assert.Zero(t, up.stalled())
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = s.Read(make([]byte, 1))
	assert.Equal(t, "closed", classifyErr(err), "released: closed (reset: it held unread bytes): %v", err)
	assert.NoError(t, echoOnce(c, "bye", 5*time.Second), "the other connection still echoes")
}

// TestHonestClientsUsage: the honest-clients process refuses what it cannot
// run, saying why, and honestOptions.args passes every option as a flag.
func TestHonestClientsUsage(t *testing.T) {
	var stderr bytes.Buffer
	for _, args := range [][]string{{}, {"-addr", "127.0.0.1:1", "-clients", "0"}, {"-addr", "127.0.0.1:1", "extra"}, {"-nope"}} {
		stderr.Reset()
		assert.Equal(t, 2, honestClientsMain(args, io.Discard, &stderr), "args %q", args)
		assert.NotEmpty(t, stderr.String(), "args %q: says why", args)
	}
	o := honestOptions{Addr: "127.0.0.1:1", Clients: 3, Workers: 2, IPs: 7, Delay: time.Millisecond, SessionTimeout: time.Second, Duration: 2 * time.Second, Gate: true}
	args := o.args()
	require.Equal(t, honestClientsCmd, args[0])
	assert.Equal(t, []string{"-addr", "127.0.0.1:1", "-clients", "3", "-workers", "2", "-ips", "7", "-delay", "1ms",
		"-session-timeout", "1s", "-duration", "2s", "-gate=true"}, args[1:])
}
