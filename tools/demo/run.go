package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/powtcp/powtcp/client/powclient"
	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/powflag"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/server/powserver"
)

// config is one demo run.
type config struct {
	Clients    int           // sessions in all, one per client
	C          int           // sessions at a time
	Wrong      float64       // fraction of clients that answer wrongly on purpose
	Alg        hashcash.Alg  // the server's proof of work
	Difficulty int           // the server's base difficulty in bits
	Timeout    time.Duration // limit of each session
	IPs        int           // distinct loopback source addresses
	Workers    int           // solver goroutines per session
}

// maxC caps -c: each session is a goroutine, a socket and Workers solvers.
const maxC = 1000

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: demo [flags]\n\n"+
			"Starts a powtcp server in this process and runs clients against it,\n"+
			"some of them sending wrong solutions on purpose, then prints a summary.\n\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&c.Clients, "clients", 50, "number of clients, one session each")
	fs.IntVar(&c.C, "c", 8, "clients run concurrently")
	fs.Float64Var(&c.Wrong, "wrong", 0.2, "fraction of clients that send a wrong solution on purpose (alternately short work and a forged MAC)")
	alg := fs.String("alg", hashcash.SHA256.String(), "the server's proof of work, as the server's -alg: "+hashcash.AlgNames())
	difficulty := powflag.DeclareDifficulty(fs, &c.Difficulty, demoBits, "the server's base difficulty")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "limit on each session, dial to quote")
	fs.IntVar(&c.IPs, "ips", 16, "distinct loopback source addresses of the clients (127.0.0.2 and up; 1: all from 127.0.0.1)")
	fs.IntVar(&c.Workers, "workers", 1, "solver goroutines per client (the -c clients share the CPUs)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	a, err := hashcash.ParseAlg(*alg)
	if err != nil {
		errs = append(errs, fmt.Errorf("-alg: %w", err))
	}
	c.Alg = a
	difficulty.Resolve(a)
	return c, errors.Join(append(errs, c.validate())...)
}

// demoBits is the demo's difficulty with a hash: a few milliseconds
// (with equix, powflag.DefaultDifficulty's).
const demoBits = 14

func (c config) validate() error {
	var errs []error
	if c.Clients < 1 {
		errs = append(errs, fmt.Errorf("-clients %d: want at least 1", c.Clients))
	}
	if c.C < 1 || c.C > maxC {
		errs = append(errs, fmt.Errorf("-c %d: want 1..%d", c.C, maxC))
	}
	if !(c.Wrong >= 0 && c.Wrong <= 1) {
		errs = append(errs, fmt.Errorf("-wrong %v: want a fraction in 0..1", c.Wrong))
	}
	if maxBits := powserver.MaxDifficulty; c.Alg == hashcash.Equix {
		if c.Difficulty < 0 || c.Difficulty > powserver.MaxEquixDifficulty {
			errs = append(errs, fmt.Errorf("-difficulty %d: want 0..%d bits with -alg equix", c.Difficulty, powserver.MaxEquixDifficulty))
		}
	} else if c.Difficulty < 0 || c.Difficulty > maxBits {
		errs = append(errs, fmt.Errorf("-difficulty %d: want 0..%d bits", c.Difficulty, maxBits))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("-timeout %v: want a positive duration", c.Timeout))
	}
	if c.IPs < 1 || c.IPs > 250 {
		errs = append(errs, fmt.Errorf("-ips %d: want 1..250", c.IPs))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("-workers %d: want at least 1", c.Workers))
	}
	return errors.Join(errs...)
}

// mode is what client i answers. The wrong clients, round(Wrong*Clients)
// of them, are spread evenly over the run and alternate between short
// work (with Equi-X, an invalid Equi-X solution) and a forged MAC.
func (c config) mode(i int) wrongwork.Mode {
	k := int(math.Round(c.Wrong * float64(c.Clients)))
	j := i * k / c.Clients // wrong clients before i
	if (i+1)*k/c.Clients == j {
		return wrongwork.Honest
	}
	if j%2 == 0 {
		return c.modes()[1]
	}
	return wrongwork.Forged
}

// modes are the modes of the run's clients, in the order the summary
// lists them.
func (c config) modes() []wrongwork.Mode {
	if c.Alg == hashcash.Equix {
		return []wrongwork.Mode{wrongwork.Honest, wrongwork.InvalidEquix, wrongwork.Forged}
	}
	return []wrongwork.Mode{wrongwork.Honest, wrongwork.ShortWork, wrongwork.Forged}
}

// outcome is one client's session.
type outcome struct {
	mode wrongwork.Mode
	res  powclient.Result
	err  error
}

// run starts a server on 127.0.0.1:0, runs the clients against it, shuts
// the server down and sums up. It stops early, with an error, when ctx is
// done.
func run(ctx context.Context, cfg config, log *zap.Logger) (*summary, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	dialers := sourceDialers(cfg.IPs, log)

	alg := cfg.Alg
	if alg == 0 {
		alg = hashcash.SHA256
	}
	scfg := powserver.DefaultConfigFor(alg)
	scfg.Difficulty = cfg.Difficulty
	// The clients share one machine; allow -c of them on one address should
	// they all come from 127.0.0.1. Adaptive difficulty stays on.
	scfg.MaxConnsPerIP = max(scfg.MaxConnsPerIP, cfg.C)
	srv, err := powserver.New(scfg, log.Named("server"), nil)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ctx, ln) }()
	log.Info("demo starting", zap.String("addr", addr), zap.Int("clients", cfg.Clients), zap.Int("concurrent", cfg.C),
		zap.Float64("wrong", cfg.Wrong), zap.Stringer("alg", alg), zap.Int("difficulty", cfg.Difficulty), zap.Int("source_addrs", len(dialers)))

	start := time.Now()
	outcomes := make([]outcome, cfg.Clients)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(cfg.C, cfg.Clients) {
		wg.Go(func() {
			for i := range next {
				outcomes[i] = fetch(ctx, cfg, addr, i, dialers[i%len(dialers)], log)
			}
		})
	}
feed:
	for i := range cfg.Clients {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)

	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	serveErr := <-serveDone
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	case !errors.Is(serveErr, powserver.ErrServerClosed):
		return nil, fmt.Errorf("serve: %w", serveErr)
	case shutdownErr != nil:
		return nil, fmt.Errorf("shutdown: %w", shutdownErr)
	}
	return summarize(cfg, len(dialers), outcomes, srv.Summary(), elapsed), nil
}

// fetch runs client i's session.
func fetch(ctx context.Context, cfg config, addr string, i int, d *net.Dialer, log *zap.Logger) outcome {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	o := outcome{mode: cfg.mode(i)}
	o.res, o.err = powclient.Fetch(ctx, addr, powclient.Options{Workers: cfg.Workers, Tamper: o.mode.Tamper(), Dialer: d})
	switch {
	case o.mode == wrongwork.Honest && o.err != nil:
		log.Warn("honest client refused", zap.Int("client", i), zap.Stringer("local", o.res.LocalAddr), zap.Error(o.err))
	case o.mode != wrongwork.Honest && o.err == nil:
		log.Error("wrong solution served", zap.Int("client", i), zap.String("mode", o.mode.String()),
			zap.Stringer("local", o.res.LocalAddr))
	}
	return o
}

// sourceDialers returns one dialer per source address, 127.0.0.2 and up,
// or a single nil dialer (127.0.0.1) when n is 1 or those addresses cannot
// be bound (outside Linux, loopback is often 127.0.0.1 alone).
func sourceDialers(n int, log *zap.Logger) []*net.Dialer {
	if n == 1 {
		return []*net.Dialer{nil}
	}
	probe, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		log.Warn("cannot bind loopback addresses besides 127.0.0.1; all clients use it", zap.Error(err))
		return []*net.Dialer{nil}
	}
	probe.Close()
	ds := make([]*net.Dialer, n)
	for i := range ds {
		ds[i] = &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))}}
	}
	return ds
}
