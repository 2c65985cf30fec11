package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/tools/loadgen/plot"
	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// run measures what cfg asks, prints the table to stdout and writes the
// JSON report. It fails when a wrong answer was accepted or the server died.
func run(ctx context.Context, cfg config, log *zap.Logger, stdout io.Writer) error {
	if cfg.Summarize {
		return report.Summarize(stdout, cfg.Files)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if cfg.NoFile > 0 {
		if err := raiseNoFile(cfg.NoFile); err != nil {
			log.Warn("cannot raise RLIMIT_NOFILE", zap.Error(err))
		}
	}
	rep, err := loadtest(ctx, cfg, log)
	if rep != nil {
		report.Print(stdout, rep)
		if cfg.JSON != "" {
			b, _ := json.MarshalIndent(rep, "", "  ")
			if werr := os.WriteFile(cfg.JSON, append(b, '\n'), 0o644); werr != nil && err == nil {
				err = fmt.Errorf("-json: %w", werr)
			}
		}
		if cfg.Plot != "" && len(rep.Timeline) > 0 {
			if perr := writePlot(cfg.Plot, strings.Join(cfg.Scenarios, ","), rep.Timeline); perr != nil && err == nil {
				err = fmt.Errorf("-plot: %w", perr)
			}
		}
		if n := rep.WrongAccepted(); n > 0 && err == nil {
			err = fmt.Errorf("the server accepted %d wrong answers", n)
		}
	}
	return err
}

// writePlot draws the timeline to path as SVG (package plot).
func writePlot(path, title string, pts []report.Point) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := plot.SVG(f, title, pts); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// raiseNoFile sets RLIMIT_NOFILE to n, or as high as allowed. Processes
// started afterwards inherit it.
func raiseNoFile(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n && lim.Max >= n {
		return nil
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: max(n, lim.Max)}); err == nil {
		return nil
	}
	// Not allowed to raise the hard limit: go as far as it.
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim.Max, Max: lim.Max})
}

// target is the server under test.
type target struct {
	addr       string
	pid        int
	metricsURL string
	child      *child        // when spawned
	echo       *echoUpstream // the gate's upstream, when run here
}

// loadtest runs the phases and returns the report, also on failure when
// there is something to report: calibrate the solver; open the target and
// start sampling it; measure it idle; the unloaded honest phase; start the
// attackers and let them ramp up; the honest phase under attack; stop the
// attackers and take the last readings.
func loadtest(ctx context.Context, cfg config, log *zap.Logger) (*report.Report, error) {
	rep := report.New(cfg.Args, cfg.Scenarios, cfg.Honest, cfg.alg())
	rep.HashRate = calibrate(ctx, cfg.Calibrate, rep.ProofOfWork())
	log.Info("hash rate of one solver goroutine", zap.Stringer("alg", rep.ProofOfWork()), zap.String("rate", rep.Rate(rep.HashRate)))
	if cfg.Baseline {
		b, err := runBaseline(ctx, cfg, log, rep.HashRate)
		rep.Baseline = b
		rep.Finish(cfg.Goals)
		return rep, err
	}

	t, closeTarget, err := openTarget(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer closeTarget()
	rep.Server = &report.ServerInfo{Addr: t.addr, PID: t.pid, Spawned: t.child != nil, Args: cfg.ServerArgs, Metrics: t.metricsURL}
	if cfg.Gate {
		rep.Gate = &report.GateInfo{}
		if t.echo != nil {
			rep.Gate.Upstream = t.echo.Addr()
		}
	}
	smp := newSampler(t.pid, t.metricsURL)
	sctx, stopSampling := context.WithCancel(ctx)
	var swg sync.WaitGroup
	swg.Go(func() { smp.loop(sctx, 250*time.Millisecond) })
	defer func() { stopSampling(); swg.Wait() }()

	attackers := newAddrAlloc(firstAttacker)
	measureIdle(ctx, cfg, smp, rep)
	if rep.Gate != nil && t.pid > 0 {
		rep.Gate.IdlePipes = countPipes(t.pid)
	}
	// Stamps to send once expired: solved now, before the unloaded phase,
	// so that they expire during the attack.
	box := &seedBox{}
	if cfg.has(scWrongWork) {
		exp, err := prepareExpired(ctx, attackers.take(2), t.addr, cfg.ChallengeTTL)
		if err != nil {
			log.Warn("could not prepare expired stamps", zap.Error(err))
		}
		box.expired = exp
	}

	tl := newTimeline(t.metricsURL)
	cfg.timeline = tl
	tctx, stopTimeline := context.WithCancel(ctx)
	var twg sync.WaitGroup
	twg.Go(func() { tl.loop(tctx) })
	defer func() { stopTimeline(); twg.Wait() }()
	log.Info("unloaded phase", zap.Duration("duration", cfg.Unloaded), zap.Int("clients", cfg.Honest))
	rep.Unloaded, err = honestPhase(ctx, cfg, t.addr, cfg.HonestIPs, cfg.Unloaded, smp, rep)
	if err := errors.Join(err, ctx.Err(), t.check()); err != nil {
		return rep, err
	}

	attacks, stopAttackers := startAttacks(ctx, cfg, t.addr, attackers, box)
	defer stopAttackers()
	if t.echo != nil {
		// The upstream recovers once the attack ends: the gate must then
		// free the stalled tunnels' descriptors.
		defer t.echo.release()
	}
	log.Info("attack ramp", zap.Strings("scenarios", cfg.Scenarios), zap.Int("slowloris", cfg.Slowloris))
	rampStart := time.Now()
	rampUp(ctx, cfg, attacks[scSlowloris])
	waitReady(ctx, rampStart.Add(cfg.Ramp), map[*attack]int{attacks[scTunnelHold]: cfg.TunnelHold, attacks[scTrickle]: cfg.Trickle})
	var heldAtRamp int64
	if a := attacks[scSlowloris]; a != nil {
		heldAtRamp = a.held.Load()
	}
	log.Info("attack phase", zap.Duration("duration", cfg.Duration), zap.Int64("held", heldAtRamp))
	tl.setPhase("attack", func() int64 {
		var n int64
		for _, a := range attacks {
			n += a.conns.Load()
		}
		return n
	})
	rep.Attack, err = honestPhase(ctx, cfg, t.addr, cfg.HonestIPs, cfg.Duration, smp, rep)
	if err != nil {
		return rep, err
	}
	stopTimeline()
	twg.Wait()
	rep.Timeline = tl.recorded()
	rep.Attack.RampRSS = rep.Attack.Start.RSS
	rep.Attack.HeldAtRamp = heldAtRamp
	stopAttackers()
	if t.echo != nil && rep.Gate != nil {
		rep.Gate.Stalled = t.echo.stalled()
		t.echo.release()
	}
	rep.Attackers = map[string]report.AttackStats{}
	for name, a := range attacks {
		st := a.stats()
		if name == scSlowloris {
			st.HeldAtRamp = heldAtRamp
		}
		rep.Attackers[name] = st
	}

	// Let the server notice the closed sockets before the last reading.
	pause(ctx, cfg.Settle)
	rep.After = smp.sample(ctx, true)
	if rep.Gate != nil && t.pid > 0 {
		rep.Gate.AfterPipes = countPipes(t.pid)
	}
	if err = t.check(); err == nil && t.child != nil {
		err = t.child.stop(15 * time.Second)
		rep.Server.Outcomes = t.child.outcomes()
	}
	if err != nil {
		rep.Server.Died = err.Error()
	}
	rep.Finish(cfg.Goals)
	return rep, errors.Join(err, ctx.Err())
}

// openTarget is the server under test: the one at cfg.Addr, or one spawned
// from cfg.Spawn, which the returned func stops.
func openTarget(ctx context.Context, cfg config, log *zap.Logger) (target, func(), error) {
	t := target{addr: cfg.Addr, pid: cfg.PID, metricsURL: cfg.MetricsURL, echo: cfg.echo}
	if cfg.Spawn == "" {
		return t, func() {}, nil
	}
	extra := []string{"-alg", cfg.alg().String()}
	if cfg.Gate {
		u, err := startEcho()
		if err != nil {
			return t, nil, fmt.Errorf("echo upstream: %w", err)
		}
		t.echo = u
		extra = append(extra, "-upstream", u.Addr(), "-upstream-name", "echo")
	}
	closeEcho := func() {
		if t.echo != nil && cfg.echo == nil {
			t.echo.Close()
		}
	}
	c, err := spawnServer(ctx, log, cfg, extra)
	if err != nil {
		closeEcho()
		return t, nil, err
	}
	t.addr, t.pid, t.child = c.Addr, c.PID, c
	if a := c.adminAddr(); a != "" && t.metricsURL == "" {
		t.metricsURL = "http://" + a + "/metrics"
	}
	return t, func() {
		if c.Alive() {
			_ = c.stop(10 * time.Second) // best effort on the way out
		}
		closeEcho()
	}, nil
}

// measureIdle reads the server's own CPU use with nothing to do, which
// the phases subtract.
func measureIdle(ctx context.Context, cfg config, smp *sampler, rep *report.Report) {
	idle0 := smp.sample(ctx, true)
	pause(ctx, cfg.Settle)
	idle1 := smp.sample(ctx, true)
	rep.Idle = idle1
	rep.IdleCPURate = report.Ratio((idle1.CPU - idle0.CPU).Seconds(), idle1.At.Sub(idle0.At).Seconds())
}

// honestPhase runs the honest clients for d, rotating through nIPs source
// addresses, and reads the server, the load generator (this process and
// the honest clients') and the store around it.
func honestPhase(ctx context.Context, cfg config, addr string, nIPs int, d time.Duration, smp *sampler, rep *report.Report) (*report.Phase, error) {
	smp.resetPeak()
	s0, self0, st0 := smp.sample(ctx, true), selfCPU(), storeCPU(cfg.StorePID)
	h, clientsCPU, err := runHonest(ctx, cfg, addr, nIPs, d, rep.HashRate)
	s1 := smp.sample(ctx, true)
	p := report.NewPhase(h, s0, s1, smp.resetPeak(), rep.IdleCPURate)
	p.LoadgenCPU = (selfCPU() - self0 + clientsCPU).Seconds()
	p.HonestCPU = clientsCPU.Seconds()
	p.SetStoreCPU(storeCPU(cfg.StorePID) - st0)
	return p, err
}

// startAttacks starts the attackers of cfg's scenarios against addr, each
// from addresses of its own, and returns them with the func that stops
// them (and may be called again).
func startAttacks(ctx context.Context, cfg config, addr string, attackers *addrAlloc, box *seedBox) (map[string]*attack, func()) {
	actx, stopAttack := context.WithCancel(ctx)
	var awg sync.WaitGroup
	attacks := map[string]*attack{}
	start := func(name string, f func(a *attack)) {
		a := newAttack(name, addr)
		attacks[name] = a
		f(a)
	}
	if cfg.has(scSlowloris) && cfg.Slowloris > 0 {
		ips := attackers.take((cfg.Slowloris + cfg.SlowlorisPerIP - 1) / cfg.SlowlorisPerIP)
		start(scSlowloris, func(a *attack) { slowloris(actx, &awg, a, ips, cfg.Slowloris, cfg.SlowlorisPerIP) })
	}
	if cfg.has(scGarbage) && cfg.Garbage > 0 {
		ips := attackers.take(4 * cfg.Garbage)
		start(scGarbage, func(a *attack) { garbage(actx, &awg, a, ips, cfg.Garbage) })
	}
	if cfg.has(scWrongWork) && cfg.WrongWork > 0 {
		ips, seedIPs := attackers.take(4*cfg.WrongWork), attackers.take(16)
		start(scWrongWork, func(a *attack) {
			wrongWork(actx, &awg, a, ips, seedIPs, box, cfg.WrongWork, cfg.ChallengeTTL)
			if len(box.expired) > 0 && box.expired[0].expires.After(time.Now().Add(cfg.Ramp+cfg.Duration)) {
				a.note(fmt.Sprintf("expired stamps mature at %s, possibly after the attack: use a shorter -challenge-ttl or a longer -duration",
					box.expired[0].expires.Format(time.TimeOnly)))
			}
		})
	}
	if cfg.has(scStorm) && cfg.Storm > 0 {
		ips := attackers.take(64 * cfg.Storm)
		start(scStorm, func(a *attack) { storm(actx, &awg, a, ips, cfg.Storm) })
	}
	if cfg.has(scReplay) && cfg.ReplayFill > 0 {
		ip := attackers.take(1)[0]
		start(scReplay, func(a *attack) { replayFill(actx, &awg, a, ip, cfg.ReplayFill) })
	}
	if cfg.has(scRedial) && cfg.Redial > 0 {
		ips := attackers.take(cfg.RedialIPs)
		start(scRedial, func(a *attack) { redial(actx, &awg, a, ips, cfg.Redial) })
	}
	if cfg.has(scSolve) && cfg.SolveFlood > 0 {
		ips := attackers.take(cfg.SolveFloodIPs)
		start(scSolve, func(a *attack) { solveFlood(actx, &awg, a, ips, cfg.SolveFlood) })
	}
	gateSolve := oneAtATime() // the gate's attackers solve one at a time between them
	if cfg.Gate && cfg.has(scTunnelHold) && cfg.TunnelHold > 0 {
		ips := attackers.take(cfg.TunnelHoldIPs)
		start(scTunnelHold, func(a *attack) { a.solve = gateSolve; tunnelHold(actx, &awg, a, ips, cfg.TunnelHold) })
	}
	if cfg.Gate && cfg.has(scTrickle) && cfg.Trickle > 0 {
		ips := attackers.take(max(1, cfg.Trickle/4))
		start(scTrickle, func(a *attack) { a.solve = gateSolve; trickle(actx, &awg, a, ips, cfg.Trickle, cfg.TrickleEvery) })
	}
	if cfg.Gate && cfg.has(scStall) && cfg.Stall > 0 {
		ips := attackers.take(cfg.StallIPs)
		start(scStall, func(a *attack) { a.solve = gateSolve; stall(actx, &awg, a, ips, cfg.Stall) })
	}
	if cfg.has(scInflate) {
		ips := attackers.take(64)
		start(scInflate, func(a *attack) { inflate(actx, &awg, a, ips, cfg.InflateBurst) })
	}
	return attacks, sync.OnceFunc(func() {
		stopAttack()
		awg.Wait()
		for _, a := range attacks {
			a.stopped = time.Now()
		}
	})
}

// storeCPU is the store process's CPU time so far; 0 without one.
func storeCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	p, _ := readProc(pid)
	return p.CPU
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	p, _ := readProc(os.Getpid())
	return p.CPU
}

// check reports a spawned server that has exited.
func (t target) check() error {
	if t.child != nil && !t.child.Alive() {
		return fmt.Errorf("server exited: %v\n%s", t.child.Err(), t.child.Logs.Tail(20))
	}
	return nil
}

// rampUp waits until the slowloris attackers hold 95% of their sockets, for
// at most cfg.Ramp, and at least cfg.Settle for the other attackers.
func rampUp(ctx context.Context, cfg config, sl *attack) {
	deadline := time.Now().Add(cfg.Ramp)
	pause(ctx, cfg.Settle)
	if sl == nil {
		return
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for sl.held.Load() < int64(cfg.Slowloris)*95/100 && time.Now().Before(deadline) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// calibrate measures the hash rate (Equi-X: solutions/s) of one solver
// goroutine for alg for d, on a challenge no one can solve in that time. It
// divides by the CPU time this process used, not the wall time, so that
// other load on the machine does not lower the figure; 0 when that is not
// readable. When d was too short to count a single attempt (an Equi-X
// solve takes about 0.1 s, and longer on a loaded machine), it measures
// again for twice as long, up to maxCalibrate.
func calibrate(ctx context.Context, d time.Duration, alg hashcash.Alg) float64 {
	for {
		rate, attempts, ok := calibrateFor(ctx, d, alg)
		if !ok || attempts > 0 || d >= maxCalibrate || ctx.Err() != nil {
			return rate
		}
		d *= 2
	}
}

// maxCalibrate bounds calibrate's retries.
const maxCalibrate = 16 * time.Second

// calibrateFor is one measurement of calibrate's: the rate and the
// attempts it counted; ok is false when the CPU time is not readable.
func calibrateFor(ctx context.Context, d time.Duration, alg hashcash.Alg) (rate float64, attempts uint64, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	prefix := "1:60:" + time.Now().UTC().Format("060102150405") + ":calibrate@loadgen:" + alg.Ext() + ":" +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:"
	before, err := readProc(os.Getpid())
	if err != nil {
		return 0, 0, false
	}
	res, _ := hashcash.Solve(ctx, prefix, hashcash.SolveOptions{Workers: 1})
	after, err := readProc(os.Getpid())
	if err != nil {
		return 0, 0, false
	}
	cpu := (after.CPU - before.CPU).Seconds()
	return report.Ratio(float64(res.Attempts), max(cpu, res.Elapsed.Seconds()/4)), res.Attempts, true
}
