package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/powtcp/powtcp/client/powclient"
	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/hashx"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/protocol"
)

type config struct {
	Addr        string
	Listen      string // forward each connection accepted here through the gate at Addr
	Stdio       bool   // one connection through the gate on stdin and stdout
	N, C        int
	Workers     int
	Timeout     time.Duration
	Verbose     bool
	JSON        bool
	Mode        wrongwork.Mode
	progressTTY bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(protocol.DefaultPort)), "server address")
	fs.IntVar(&c.N, "n", 1, "number of sessions (quotes) to fetch")
	fs.IntVar(&c.C, "c", 1, "sessions run concurrently")
	fs.IntVar(&c.Workers, "workers", 0, "solver goroutines per session (0: one per CPU)")
	fs.DurationVar(&c.Timeout, "timeout", time.Minute, "limit on each session, dial to quote")
	fs.BoolVar(&c.Verbose, "v", false, "report solve time and hash rate of each session on stderr")
	fs.BoolVar(&c.JSON, "json", false, "print one JSON object per session on stdout instead of the quote")
	mode := fs.String("mode", "honest", "honest, or "+wrongwork.WrongNames()+" to send a wrong solution on purpose")
	fs.StringVar(&c.Listen, "listen", "", "forward each connection accepted on this address (e.g. 127.0.0.1:6380) through the gate at -addr, one proof each")
	fs.BoolVar(&c.Stdio, "stdio", false, "one connection through the gate at -addr on stdin and stdout, for ssh's ProxyCommand")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	if c.N < 1 {
		errs = append(errs, fmt.Errorf("-n %d: want at least 1", c.N))
	}
	if c.C < 1 {
		errs = append(errs, fmt.Errorf("-c %d: want at least 1", c.C))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("-workers %d: want 0 or more", c.Workers))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("-timeout %v: want a positive duration", c.Timeout))
	}
	if c.Listen != "" && c.Stdio {
		errs = append(errs, errors.New("-listen and -stdio exclude each other"))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("-listen %q: %w", c.Listen, err))
		}
	}
	if (c.Listen != "" || c.Stdio) && (c.N != 1 || c.JSON) {
		errs = append(errs, errors.New("-n, -c and -json are for quotes; -listen and -stdio forward connections"))
	}
	m, err := wrongwork.ParseMode(*mode)
	if err != nil {
		errs = append(errs, fmt.Errorf("-%w", err))
	}
	c.Mode = m
	if f, ok := stderr.(*os.File); ok {
		c.progressTTY = term.IsTerminal(int(f.Fd()))
	}
	return c, errors.Join(errs...)
}

// report is one session's line in -json mode.
type report struct {
	Session  int     `json:"session"`
	Quote    string  `json:"quote,omitempty"`
	Alg      string  `json:"alg,omitempty"` // the proof of work: sha256, sha1 or equix
	Bits     int     `json:"bits"`
	Attempts uint64  `json:"attempts"` // hashes; with equix, Equi-X solutions
	SolveMS  float64 `json:"solve_ms"`
	HashRate float64 `json:"hash_rate"` // attempts per second
	TotalMS  float64 `json:"total_ms,omitempty"`
	// Reconnected: the solve outlasted the server's window, so the stamp
	// was presented on a second connection.
	Reconnected bool   `json:"reconnected,omitempty"`
	Error       string `json:"error,omitempty"`
	Code        string `json:"code,omitempty"`
	alg         hashcash.Alg
}

// run fetches cfg.N quotes, cfg.C at a time, and returns how many failed.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (failed int) {
	var (
		mu       sync.Mutex
		outcomes = map[string]int{}
		next     = make(chan int)
		wg       sync.WaitGroup
	)
	for range min(cfg.C, cfg.N) {
		wg.Go(func() {
			for i := range next {
				rep := session(ctx, cfg, i, stderr)
				mu.Lock()
				printReport(cfg, rep, stdout, stderr)
				key := "served"
				if rep.Error != "" {
					key = cmp.Or(rep.Code, "error")
					failed++
				}
				outcomes[key]++
				mu.Unlock()
			}
		})
	}
feed:
	for i := range cfg.N {
		select {
		case next <- i + 1:
		case <-ctx.Done():
			mu.Lock()
			failed += cfg.N - i // never started
			mu.Unlock()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if cfg.N > 1 || failed > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(outcomes)) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, outcomes[k]))
		}
		fmt.Fprintf(stderr, "client: %d sessions: %s\n", cfg.N, strings.Join(parts, " "))
	}
	return failed
}

func session(ctx context.Context, cfg config, i int, stderr io.Writer) report {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	opt := powclient.Options{Workers: cfg.Workers, Tamper: cfg.Mode.Tamper()}
	var p *progress
	if cfg.progressTTY && cfg.C == 1 && !cfg.JSON {
		p = &progress{w: stderr}
		opt.Progress = p.update
	}
	res, err := powclient.Fetch(ctx, cfg.Addr, opt)
	p.done()
	rep := report{
		Session: i, Quote: res.Quote, Bits: res.Bits, Attempts: res.Solve.Attempts, alg: res.Alg,
		SolveMS: ms(res.Solve.Elapsed), HashRate: res.Solve.HashRate(), TotalMS: ms(res.Total),
		Reconnected: res.Reconnected,
	}
	if res.Alg != 0 {
		rep.Alg = res.Alg.String()
	}
	if err != nil {
		rep.Error = err.Error()
		rep.Code = powclient.Classify(err)
	}
	return rep
}

func printReport(cfg config, rep report, stdout, stderr io.Writer) {
	if cfg.JSON {
		_ = json.NewEncoder(stdout).Encode(rep) // as fmt.Fprint below: stdout has no better place for its error
		return
	}
	if rep.Error != "" {
		fmt.Fprintf(stderr, "client: session %d: %s\n", rep.Session, rep.Error)
	} else {
		fmt.Fprintln(stdout, rep.Quote)
	}
	if cfg.Verbose && rep.Attempts > 0 {
		again := ""
		if rep.Reconnected {
			again = " (solved off the connection, answered on a second one)"
		}
		count, speed := work(rep.alg, rep.Attempts, rep.HashRate)
		fmt.Fprintf(stderr, "client: session %d: %d bits, %s in %.1fms (%s), total %.1fms%s\n",
			rep.Session, rep.Bits, count, rep.SolveMS, speed, rep.TotalMS, again)
	}
}

// progress draws a status line on a terminal while a solve runs longer than a second.
type progress struct {
	w     io.Writer
	drawn bool
}

func (p *progress) update(pr powclient.Progress) {
	if pr.Elapsed < time.Second || pr.Attempts == 0 {
		return
	}
	rate := float64(pr.Attempts) / pr.Elapsed.Seconds()
	expected := time.Duration(hashcash.ExpectedAttempts(pr.Bits) / rate * float64(time.Second))
	count, speed := work(pr.Alg, pr.Attempts, rate)
	fmt.Fprintf(p.w, "\rsolving %d bits: %s, %s, %v elapsed, %v expected ",
		pr.Bits, count, speed, pr.Elapsed.Round(100*time.Millisecond), expected.Round(100*time.Millisecond))
	p.drawn = true
}

// work says n attempts at rate per second in alg's units: hashes and MH/s,
// or, for Equi-X, solutions (each one Equi-X solution and its effort hash)
// and solutions/s, with the HashX engine that ran them.
func work(alg hashcash.Alg, n uint64, rate float64) (count, speed string) {
	if alg == hashcash.Equix {
		return fmt.Sprintf("%d Equi-X solutions", n), fmt.Sprintf("%.1f solutions/s, HashX %s", rate, hashx.Engine())
	}
	return fmt.Sprintf("%d hashes", n), fmt.Sprintf("%.2f MH/s", rate/1e6)
}

func (p *progress) done() {
	if p != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
