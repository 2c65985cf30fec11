package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bazelbuild/rules_go/go/runfiles"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// Baseline targets.
const (
	// The bare servers of command baseline (tools/baseline), by its -kind:
	// bareOneLine writes one line and closes; bareExchange writes a line,
	// reads one and writes one, the protocol's round trip without its
	// logic; bareSeed speaks the seed project's wire format.
	bareOneLine  = "oneline"
	bareExchange = "exchange"
	bareSeed     = "seed"
	// realSeed is the seed project's own server (theoptz/pow-tcp,
	// cmd/server), built outside this repository and named by -seed.
	realSeed = "seed-real"
	// powtcp is the server under test at difficulty 0.
	targetPowtcp = "powtcp"
)

// baselineRlocation is the runfiles path of command baseline under Bazel
// (x_defs), empty under go build.
var baselineRlocation string

// baselineBin is the baseline servers' command (tools/baseline): flag
// (-baseline-bin) when set, else the one in Bazel's runfiles, else
// "baseline" in the directory of this executable, where
// `go build -o DIR/ ./tools/loadgen ./tools/baseline` puts it.
func baselineBin(flag string) (string, error) {
	p := flag
	if p == "" && baselineRlocation != "" {
		r, err := runfiles.Rlocation(baselineRlocation)
		if err != nil {
			return "", fmt.Errorf("baseline binary %q: %w", baselineRlocation, err)
		}
		p = r
	}
	if p == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		p = filepath.Join(filepath.Dir(exe), "baseline")
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the baseline servers' command (build ./tools/baseline next to loadgen, or name it with -baseline-bin): %w", err)
	}
	return p, nil
}

// baselineArgv is the command line of a bare server of kind at bits that
// writes its address to addrFile.
func baselineArgv(bin, kind string, bits int, addrFile string) []string {
	return []string{bin, "-kind", kind, "-bits", strconv.Itoa(bits), "-addr-file", addrFile}
}

// runBaseline measures CPU per session of the bare servers and of the
// server at difficulty 0 with the same client loop, in interleaved rounds.
func runBaseline(ctx context.Context, cfg config, log *zap.Logger, hashRate float64) (*report.BaselineReport, error) {
	exe, err := baselineBin(cfg.BaselineBin)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "loadgen-baseline-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	names := []string{bareOneLine, bareExchange, bareSeed}
	children := map[string]*child{}
	defer func() {
		for _, c := range children {
			_ = c.stop(10 * time.Second) // best effort on the way out
		}
	}()
	for _, k := range names {
		f := filepath.Join(dir, k)
		c, err := startChild(ctx, log, "baseline-"+k, baselineArgv(exe, k, cfg.BaselineBits, f), nil, f, cfg.ServerCPUs, nil)
		if err != nil {
			return nil, err
		}
		children[k] = c
	}
	if cfg.Seed != "" {
		c, err := startSeed(ctx, log, cfg, dir)
		if err != nil {
			return nil, err
		}
		children[realSeed] = c
		names = append(names, realSeed)
	}
	names = append(names, targetPowtcp)
	pow := len(names) - 1
	srv, err := spawnServer(ctx, log, cfg, []string{"-alg", cfg.alg().String(), "-difficulty", strconv.Itoa(cfg.BaselineBits), "-max-extra-bits", "-1"})
	if err != nil {
		return nil, err
	}
	children[targetPowtcp] = srv

	rep := &report.BaselineReport{Sessions: cfg.BaselineN, Concurrency: cfg.BaselineC, Rate: cfg.BaselineRate, Bits: cfg.BaselineBits}
	ips := newAddrAlloc(firstHonest).take(cfg.HonestIPs)
	// Warm every target up unmeasured: first connections grow heaps and
	// stacks and fault pages in, which is not the cost of a session.
	warm := cfg
	warm.BaselineN, warm.BaselineRate = min(cfg.BaselineN, 2000), 0
	for _, k := range names {
		if _, err := measureBaseline(ctx, warm, k, children[k].Addr, children[k].PID, ips); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", k, err)
		}
	}
	rounds := map[string][]report.BaselineRound{}
	for r := range cfg.BaselineRounds {
		for _, k := range names {
			c := children[k]
			round, err := measureBaseline(ctx, cfg, k, c.Addr, c.PID, ips)
			if err != nil {
				return nil, fmt.Errorf("%s round %d: %w", k, r+1, err)
			}
			log.Info("baseline round", zap.String("target", k), zap.Int("round", r+1),
				zap.Int("sessions", round.Sessions), zap.Int("failed", round.Failed),
				zap.Float64("cpu_us_per_session", round.CPUPerSession), zap.Float64("sessions_per_s", round.SessionsPerSec))
			rounds[k] = append(rounds[k], round)
		}
		one, pow := rounds[bareOneLine][r], rounds[targetPowtcp][r]
		rep.Ratios = append(rep.Ratios, report.Ratio(pow.CPUPerSession, one.CPUPerSession))
	}
	for _, k := range names {
		t := report.BaselineTarget{Name: k, PID: children[k].PID, Rounds: rounds[k]}
		var cpu, rate []float64
		for _, r := range rounds[k] {
			cpu = append(cpu, r.CPUPerSession)
			rate = append(rate, r.SessionsPerSec)
		}
		t.CPUPerSession, t.Spread = report.Median(cpu)
		t.SessionsPerSec, _ = report.Median(rate)
		rep.Targets = append(rep.Targets, t)
	}
	rep.Ratio, rep.RatioSpread = report.Median(rep.Ratios)
	rep.RatioExchange = report.Ratio(rep.Targets[pow].CPUPerSession, rep.Targets[1].CPUPerSession)
	rep.RatioSeed = report.Ratio(rep.Targets[pow].CPUPerSession, rep.Targets[2].CPUPerSession)
	if cfg.Seed != "" {
		rep.RatioRealSeed = report.Ratio(rep.Targets[pow].CPUPerSession, rep.Targets[3].CPUPerSession)
	}
	if hashRate > 0 {
		rep.ExpectedSolveS = hashcash.ExpectedAttempts(cfg.alg().DefaultBits()) / hashRate
		rep.Asymmetry = report.Ratio(rep.ExpectedSolveS, rep.Targets[pow].CPUPerSession/1e6)
	}
	if err := srv.stop(10 * time.Second); err != nil {
		return rep, fmt.Errorf("server: %w", err)
	}
	return rep, nil
}

// measureBaseline runs cfg.BaselineN sessions against addr with
// cfg.BaselineC clients and reads the CPU time of process pid before and after.
func measureBaseline(ctx context.Context, cfg config, kind, addr string, pid int, ips []netip.Addr) (report.BaselineRound, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.BaselineTimeout)
	defer cancel()
	before, err := readProc(pid)
	if err != nil {
		return report.BaselineRound{}, err
	}
	self0, _ := readProc(os.Getpid())
	start := time.Now()
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range cfg.BaselineC {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(cfg.BaselineN) {
					return
				}
				if cfg.BaselineRate > 0 {
					at := start.Add(time.Duration(float64(i-1) / cfg.BaselineRate * float64(time.Second)))
					if !pause(ctx, time.Until(at)) {
						return
					}
				}
				if err := bareSession(ctx, kind, addr, ips[int(i)%len(ips)], cfg.BaselineBits); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	after, err := readProc(pid)
	if err != nil {
		return report.BaselineRound{}, err
	}
	self1, _ := readProc(os.Getpid())
	if ctx.Err() != nil {
		return report.BaselineRound{}, fmt.Errorf("did not finish %d sessions within %v", cfg.BaselineN, cfg.BaselineTimeout)
	}
	n := cfg.BaselineN - int(failed.Load())
	if failed.Load() > int64(cfg.BaselineN/100) {
		return report.BaselineRound{}, fmt.Errorf("%d of %d sessions failed, first: %v", failed.Load(), cfg.BaselineN, firstErr.Load())
	}
	cpu := after.CPU - before.CPU
	return report.BaselineRound{
		Sessions: n, Failed: int(failed.Load()), ServerCPU: cpu.Seconds(),
		CPUPerSession:  float64(cpu.Microseconds()) / float64(n),
		SessionsPerSec: float64(n) / elapsed.Seconds(),
		LoadgenCPU:     (self1.CPU - self0.CPU).Seconds(),
	}, nil
}

// bareSession is the client loop, the same for every target but for what
// each server expects: dial, read the first line, answer it if the server
// expects an answer, read the last line, and read until the server closes.
// bits is the difficulty of the seeds' challenges.
func bareSession(ctx context.Context, kind, addr string, ip netip.Addr, bits int) error {
	c, err := dial(ctx, ip, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	lc := newLineConn(c)
	if kind == bareSeed || kind == realSeed {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var challenge [9]byte
		if _, err := io.ReadFull(c, challenge[:]); err != nil {
			return fmt.Errorf("challenge: %w", err)
		}
		if int(challenge[0]) != bits {
			return fmt.Errorf("challenge of %d bits, want %d", challenge[0], bits)
		}
		nonce := seedNonce(challenge)
		if _, err := c.Write(nonce[:]); err != nil {
			return err
		}
		// The seed's own server writes the bare quote; the shaped one a QUOTE line.
		if l, err := lc.readLine(10 * time.Second); err != nil || kind == bareSeed && !strings.HasPrefix(l, protocol.VerbQuote+" ") {
			return fmt.Errorf("quote: %q, %v", l, err)
		}
		return waitEOF(lc)
	}
	first, err := lc.readLine(10 * time.Second)
	if err != nil {
		return fmt.Errorf("first line: %w", err)
	}
	switch kind {
	case bareOneLine:
	case bareExchange:
		if err := lc.writeLine("SOLUTION x", 10*time.Second); err != nil {
			return err
		}
		if _, err := lc.readLine(10 * time.Second); err != nil {
			return fmt.Errorf("last line: %w", err)
		}
	case targetPowtcp:
		ch, err := protocol.ParseChallenge(first)
		if err != nil {
			return err
		}
		st, err := hashcash.ParsePrefix(ch.Prefix)
		if err != nil {
			return err
		}
		alg, _ := st.Alg()
		if err := lc.writeLine("SOLUTION "+wrongwork.Solve(alg, ch.Prefix, st.Bits), 10*time.Second); err != nil {
			return err
		}
		l, err := lc.readLine(10 * time.Second)
		if err != nil {
			return fmt.Errorf("reply: %w", err)
		}
		if !strings.HasPrefix(l, protocol.VerbQuote+" ") {
			return fmt.Errorf("reply %.60q", l)
		}
	}
	return waitEOF(lc)
}

// seedNonce finds a nonce the seed accepts for challenge: SHA-256 of the
// challenge and the nonce starts with challenge[0]/8 zero bytes, and, as
// the seed checks it, the nonce's next byte has challenge[0]%8 leading
// zero bits.
func seedNonce(challenge [9]byte) [8]byte {
	full, rest := int(challenge[0]/8), challenge[0]%8
	var in [17]byte
	copy(in[:], challenge[:])
	for n := uint64(0); ; n++ {
		binary.BigEndian.PutUint64(in[9:], n)
		sum := sha256.Sum256(in[:])
		ok := full < len(sum)
		for _, b := range sum[:min(full, len(sum))] {
			ok = ok && b == 0
		}
		if rest > 0 && full < 8 {
			ok = ok && in[9+full]&byte(0xff<<(8-rest)) == 0
		}
		if ok {
			return [8]byte(in[9:])
		}
	}
}

// startSeed starts the seed project's server (-seed) on a free loopback
// port at cfg.BaselineBits and waits until it accepts. The seed takes its
// address and difficulty from the environment and writes no address file,
// so the file is written here and the port probed.
func startSeed(ctx context.Context, log *zap.Logger, cfg config, dir string) (*child, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	f := filepath.Join(dir, realSeed)
	if err := os.WriteFile(f, []byte(addr+"\n"), 0o644); err != nil {
		return nil, err
	}
	env := []string{"HOST=127.0.0.1", "PORT=" + port, "POW_DIFFICULTY=" + strconv.Itoa(cfg.BaselineBits), "MAX_CONCURRENCY=10000"}
	c, err := startChild(ctx, log, "baseline-"+realSeed, []string{cfg.Seed}, env, f, cfg.ServerCPUs, nil)
	if err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return c, nil
		}
		if i == 100 || !pause(ctx, 50*time.Millisecond) {
			_ = c.stop(5 * time.Second) // it failed already; that error says why
			return nil, fmt.Errorf("the seed's server never accepted on %s: %w", addr, err)
		}
	}
}

// waitEOF waits for the server to close, so that its work is done before
// the CPU reading.
func waitEOF(lc *lineConn) error {
	lc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := lc.Read(make([]byte, 1)); err != io.EOF {
		return fmt.Errorf("want EOF after the last line, got %v", err)
	}
	return nil
}
