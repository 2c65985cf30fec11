package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/powtcp/powtcp/client/powclient"
	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/proc"
	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// The honest clients run in a process of their own, this executable started
// as "loadgen honest-clients": in the attackers' process they would share
// its Go scheduler and garbage collector with thousands of attack
// goroutines, and their latency would measure the load generator rather
// than the server (a re-dial flood quadrupled the honest p99 that way,
// against 1.3x from a process of its own). The process reports each
// session as one JSON line (honestRecord) as it ends, and the run adds
// them up (runHonest).
const honestClientsCmd = "honest-clients"

// honestOptions are the honest-clients process's flags.
type honestOptions struct {
	Addr           string        // the server
	Clients        int           // concurrent clients
	Workers        int           // solver goroutines per session
	IPs            int           // source addresses from firstHonest, rotated through
	Delay          time.Duration // answer no sooner than this after the challenge
	SessionTimeout time.Duration // limit of one session
	Duration       time.Duration // start sessions for this long, then finish those in flight
	Gate           bool          // the server is a gate: open a tunnel and echo once through it
}

// args are o as the honest-clients process's arguments.
func (o honestOptions) args() []string {
	return []string{honestClientsCmd, "-addr", o.Addr, "-clients", strconv.Itoa(o.Clients), "-workers", strconv.Itoa(o.Workers),
		"-ips", strconv.Itoa(o.IPs), "-delay", o.Delay.String(), "-session-timeout", o.SessionTimeout.String(),
		"-duration", o.Duration.String(), "-gate=" + strconv.FormatBool(o.Gate)}
}

// honestRecord is one honest session, one JSON line of the honest-clients
// process.
type honestRecord struct {
	Total    time.Duration `json:"total_ns"`
	Solve    time.Duration `json:"solve_ns"`
	Attempts uint64        `json:"attempts"`
	Bits     int           `json:"bits"`
	Fail     string        `json:"fail,omitempty"` // classifyHonest's class; "" when served
}

// honestClientsMain is "loadgen honest-clients": it parses args, runs the
// clients and writes their records to stdout. It returns the exit code.
func honestClientsMain(args []string, stdout, stderr io.Writer) int {
	var o honestOptions
	fs := flag.NewFlagSet("loadgen "+honestClientsCmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "addr", "", "the server")
	fs.IntVar(&o.Clients, "clients", 2, "concurrent clients")
	fs.IntVar(&o.Workers, "workers", 1, "solver goroutines per session")
	fs.IntVar(&o.IPs, "ips", 1000, "source addresses from 127.1.0.1, rotated through")
	fs.DurationVar(&o.Delay, "delay", 0, "answer no sooner than this after the challenge")
	fs.DurationVar(&o.SessionTimeout, "session-timeout", 2*time.Minute, "limit of one session")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "start sessions for this long")
	fs.BoolVar(&o.Gate, "gate", false, "the server is a gate")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.Addr == "" || o.Clients < 1 || o.Workers < 1 || o.IPs < 1 || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen %s: needs -addr, and -clients, -workers and -ips of at least 1\n", honestClientsCmd)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// One write per record, as it ends: the run draws its timeline as
	// sessions end.
	enc := json.NewEncoder(stdout)
	var mu sync.Mutex
	var werr error
	honestClients(ctx, o, func(r honestRecord) {
		mu.Lock()
		defer mu.Unlock()
		if werr == nil {
			werr = enc.Encode(r)
		}
	})
	if werr != nil {
		fmt.Fprintf(stderr, "loadgen %s: %v\n", honestClientsCmd, werr)
		return 1
	}
	return 0
}

// honestClients runs o.Clients clients in a loop for o.Duration, each
// session from the next source address, waits for the sessions in flight
// at the end, and passes each session to emit (from several goroutines).
// A session is a quote, or with o.Gate a tunnel and one echo through it
// (served: the echo came back intact).
func honestClients(ctx context.Context, o honestOptions, emit func(honestRecord)) {
	ips := newAddrAlloc(firstHonest).take(o.IPs)
	deadline := time.Now().Add(o.Duration)
	var next atomic.Uint64
	var wg sync.WaitGroup
	for range o.Clients {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				ip := ips[int(next.Add(1)-1)%len(ips)]
				sctx, cancel := context.WithTimeout(ctx, o.SessionTimeout)
				po := powclient.Options{
					Workers: o.Workers,
					Dialer:  dialer(ip, 10*time.Second),
					Solve:   slowSolver(o.Delay),
				}
				var res powclient.Result
				var err error
				if o.Gate {
					res, err = gateSession(sctx, o.Addr, po, next.Load())
				} else {
					res, err = powclient.Fetch(sctx, o.Addr, po)
				}
				cancel()
				if ctx.Err() != nil {
					return // cut short by the run's end, not the server
				}
				r := honestRecord{Total: res.Total, Solve: res.Solve.Elapsed, Attempts: res.Solve.Attempts, Bits: res.Bits}
				if err != nil {
					r.Fail = classifyHonest(err)
				}
				emit(r)
			}
		})
	}
	wg.Wait()
}

// runHonest runs cfg.Honest clients for d in the honest-clients process,
// rotating through nIPs source addresses, and adds up their sessions; it
// also returns the CPU time that process used. hashRate is the calibrated
// rate of one solver goroutine.
func runHonest(ctx context.Context, cfg config, addr string, nIPs int, d time.Duration, hashRate float64) (report.HonestStats, time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return report.HonestStats{}, 0, fmt.Errorf("honest clients: %w", err)
	}
	o := honestOptions{Addr: addr, Clients: cfg.Honest, Workers: cfg.HonestWorkers, IPs: nIPs, Delay: cfg.HonestDelay,
		SessionTimeout: cfg.SessionTimeout, Duration: d, Gate: cfg.Gate}
	// The process dies with the load generator, and its last lines of
	// output are kept for an error.
	cmd := exec.CommandContext(ctx, self, o.args()...) //nolint:gosec // this executable, with arguments made here
	cmd.SysProcAttr = proc.DieWithParentAttr()
	stderr := proc.NewLogsMax(0)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return report.HonestStats{}, 0, fmt.Errorf("honest clients: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return report.HonestStats{}, 0, fmt.Errorf("honest clients: %w", err)
	}
	var agg honestAggregate
	sc := bufio.NewScanner(out)
	var perr error
	for sc.Scan() {
		var r honestRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			perr = fmt.Errorf("honest clients wrote %q: %w", sc.Text(), err)
			break
		}
		cfg.timeline.session(r.Total, r.Fail == "")
		agg.add(r, cfg.HonestWorkers, hashRate)
	}
	if perr != nil {
		_ = cmd.Process.Kill() // its output is unreadable: the run fails anyway
	}
	werr := cmd.Wait()
	var cpu time.Duration
	if ps := cmd.ProcessState; ps != nil {
		cpu = ps.UserTime() + ps.SystemTime()
	}
	st := agg.stats(time.Since(start))
	switch {
	case perr != nil:
		return st, cpu, perr
	case ctx.Err() != nil:
		return st, cpu, nil // killed at the run's end: the sessions so far count
	case werr != nil:
		return st, cpu, fmt.Errorf("honest clients: %w: %s", werr, stderr.Tail(10))
	}
	return st, cpu, nil
}

// honestAggregate adds up honest sessions.
type honestAggregate struct {
	fails                     counts
	total, wait, solve, norm  []time.Duration
	bitsSum, bitsMin, bitsMax int
	attempts                  uint64
	solving                   time.Duration
	sessions                  int
}

// add counts r; workers and hashRate give the time its attempts take
// free of CPU contention (normalized latency).
func (a *honestAggregate) add(r honestRecord, workers int, hashRate float64) {
	a.sessions++
	if r.Fail != "" {
		a.fails.inc(r.Fail)
		return
	}
	a.total = append(a.total, r.Total)
	a.wait = append(a.wait, r.Total-r.Solve)
	a.solve = append(a.solve, r.Solve)
	if hashRate > 0 {
		work := time.Duration(float64(r.Attempts) / float64(workers) / hashRate * float64(time.Second))
		a.norm = append(a.norm, r.Total-r.Solve+work)
	}
	if len(a.total) == 1 {
		a.bitsMin, a.bitsMax = r.Bits, r.Bits
	}
	a.bitsSum += r.Bits
	a.bitsMin, a.bitsMax = min(a.bitsMin, r.Bits), max(a.bitsMax, r.Bits)
	a.attempts += r.Attempts
	a.solving += r.Solve
}

// stats are the sessions added, over elapsed.
func (a *honestAggregate) stats(elapsed time.Duration) report.HonestStats {
	st := report.HonestStats{
		Sessions: a.sessions, Served: len(a.total), Failures: a.fails.snapshot(),
		Latency: report.PercentilesOf(a.total), Wait: report.PercentilesOf(a.wait), Solve: report.PercentilesOf(a.solve), Normalized: report.PercentilesOf(a.norm),
		BitsMax: a.bitsMax, Elapsed: elapsed.Seconds(),
	}
	if a.sessions > 0 {
		st.SuccessRate = float64(len(a.total)) / float64(a.sessions)
	}
	if len(a.total) > 0 {
		st.BitsMean = float64(a.bitsSum) / float64(len(a.total))
		st.BitsMin = a.bitsMin
		st.SessionsPerSec = float64(len(a.total)) / elapsed.Seconds()
	}
	if a.solving > 0 {
		st.HashRate = float64(a.attempts) / a.solving.Seconds()
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
