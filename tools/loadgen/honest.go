package main

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/powtcp/powtcp/client/powclient"
	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// runHonest runs cfg.Honest clients in a loop for d, each session from the
// next address of ips, and waits for the sessions in flight at the end. A
// session is a quote, or with cfg.Gate a tunnel and one echo through it
// (served: the echo came back intact).
// hashRate is the calibrated rate of one solver goroutine.
func runHonest(ctx context.Context, cfg config, addr string, ips []netip.Addr, d time.Duration, hashRate float64) report.HonestStats {
	start := time.Now()
	deadline := start.Add(d)
	var (
		next     atomic.Uint64
		mu       sync.Mutex
		fails    counts
		total    []time.Duration
		wait     []time.Duration
		solve    []time.Duration
		norm     []time.Duration
		bitsSum  int
		bitsMin  = 1 << 30
		bitsMax  int
		attempts uint64
		solving  time.Duration
		sessions int
		wg       sync.WaitGroup
	)
	for range cfg.Honest {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				ip := ips[int(next.Add(1)-1)%len(ips)]
				sctx, cancel := context.WithTimeout(ctx, cfg.SessionTimeout)
				o := powclient.Options{
					Workers: cfg.HonestWorkers,
					Dialer:  dialer(ip, 10*time.Second),
					Solve:   slowSolver(cfg.HonestDelay),
				}
				var res powclient.Result
				var err error
				if cfg.Gate {
					res, err = gateSession(sctx, addr, o, next.Load())
				} else {
					res, err = powclient.Fetch(sctx, addr, o)
				}
				cancel()
				if ctx.Err() != nil {
					return // cut short by the run's end, not the server
				}
				cfg.timeline.session(res.Total, err == nil)
				mu.Lock()
				sessions++
				if err != nil {
					fails.inc(classifyHonest(err))
				} else {
					total = append(total, res.Total)
					wait = append(wait, res.Total-res.Solve.Elapsed)
					solve = append(solve, res.Solve.Elapsed)
					if hashRate > 0 {
						work := time.Duration(float64(res.Solve.Attempts) / float64(cfg.HonestWorkers) / hashRate * float64(time.Second))
						norm = append(norm, res.Total-res.Solve.Elapsed+work)
					}
					bitsSum += res.Bits
					bitsMin, bitsMax = min(bitsMin, res.Bits), max(bitsMax, res.Bits)
					attempts += res.Solve.Attempts
					solving += res.Solve.Elapsed
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	st := report.HonestStats{
		Sessions: sessions, Served: len(total), Failures: fails.snapshot(),
		Latency: report.PercentilesOf(total), Wait: report.PercentilesOf(wait), Solve: report.PercentilesOf(solve), Normalized: report.PercentilesOf(norm),
		BitsMax: bitsMax, Elapsed: elapsed.Seconds(),
	}
	if sessions > 0 {
		st.SuccessRate = float64(len(total)) / float64(sessions)
	}
	if len(total) > 0 {
		st.BitsMean = float64(bitsSum) / float64(len(total))
		st.BitsMin = bitsMin
		st.SessionsPerSec = float64(len(total)) / elapsed.Seconds()
	}
	if solving > 0 {
		st.HashRate = float64(attempts) / solving.Seconds()
	}
	return st
}

// classifyHonest names why an honest session failed: "refused-<code>" for
// the server's refusals, "dial-no-port" when this machine ran out of
// source ports, else powclient's class.
func classifyHonest(err error) string {
	var pe *protocol.Error
	switch {
	case errors.As(err, &pe):
		return "refused-" + string(pe.Code)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "dial-no-port"
	case errors.Is(err, errBadEcho):
		return "bad-echo"
	}
	return powclient.Classify(err)
}

// slowSolver solves, then holds the result until at least delay has passed
// since it started: a client slower than this machine. Nil (powclient's
// own solver) for no delay.
func slowSolver(delay time.Duration) func(context.Context, string, hashcash.SolveOptions) (hashcash.Result, error) {
	if delay <= 0 {
		return nil
	}
	return func(ctx context.Context, prefix string, o hashcash.SolveOptions) (hashcash.Result, error) {
		start := time.Now()
		res, err := hashcash.Solve(ctx, prefix, o)
		if err == nil && !pause(ctx, delay-time.Since(start)) {
			err = ctx.Err()
		}
		res.Elapsed = time.Since(start)
		return res, err
	}
}
