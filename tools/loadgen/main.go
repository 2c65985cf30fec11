// Command loadgen attacks a powtcp server on loopback and measures how it
// holds up: honest clients' success rate and latency under attack against
// the same unloaded, the server's memory, CPU, file descriptors and
// goroutines, and how many wrong answers it accepted (it must be none).
//
// It drives a running server (-addr, with -pid for /proc and -metrics for
// its /metrics), or starts one itself (-spawn PATH), and plays honest
// clients from 127.1.x.y and attackers from 127.0.0.2 upward, so that the
// server's per-address logic sees many clients. Scenarios (-scenario, comma
// separated): honest, slowloris, garbage, wrongwork, storm, replayfill,
// inflate, redial (a re-dial flood over the per-address cap that never
// solves) and solveflood (attackers from many addresses who solve and
// redeem as fast as they can). With -gate the server is a gate (server
// -upstream; -spawn runs an echo upstream here and passes it): honest
// clients make one echo round trip through a tunnel, and the gate's own
// scenarios are tunnelhold (tunnels held idle), trickle (a byte now and
// then until the tunnel's lifetime) and stall (an upstream that stops
// answering on every other tunnel); the report adds whether the server's
// descriptors went back to idle. With -baseline
// it instead compares the server's CPU per session at difficulty 0 with
// bare TCP servers it runs as child processes: command baseline
// (tools/baseline), found next to loadgen's executable or named by
// -baseline-bin.
//
// The honest clients run in a process of their own, this executable
// started as "loadgen honest-clients" (an internal command: it reports each
// session as a JSON line), so that their latency measures the server and
// not the attackers' goroutines; the re-dial flood drives raw sockets with
// epoll, cheap enough to pass 10,000 connections a second beside the
// server on two cores.
//
// Every run is bounded by -duration, -unloaded, -ramp and -timeout and
// stops by itself; -json writes the report, and -summarize prints medians
// over several reports. BENCHMARKS.md has the figures and the commands.
// Linux only: it reads /proc and binds loopback source addresses.
//
// Exit codes: 0 the run completed and no wrong answer was accepted; 1 a
// wrong answer was accepted, the server died, or the run failed; 2 bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == honestClientsCmd {
		os.Exit(honestClientsMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	cfg, err := parseConfig(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(2)
	}
	log := newLogger(cfg.Verbose)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg, log, os.Stdout)
	stop()
	log.Sync()
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

func newLogger(verbose bool) *zap.Logger {
	zc := zap.NewDevelopmentConfig()
	zc.DisableStacktrace = true
	zc.DisableCaller = true
	if !verbose {
		zc.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	}
	log, err := zc.Build()
	if err != nil {
		return zap.NewNop()
	}
	return log
}
