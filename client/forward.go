package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/powtcp/powtcp/client/powclient"
)

// dialGate proves the work to the gate at cfg.Addr and returns the
// connection to its upstream, reporting the proof on stderr with -v.
func dialGate(ctx context.Context, cfg config, n int64, stderr io.Writer) (net.Conn, error) {
	pctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var res powclient.Result
	c, err := powclient.Dial(pctx, cfg.Addr, powclient.Options{Workers: cfg.Workers, Tamper: cfg.Mode.Tamper()}, &res)
	if err != nil {
		return nil, fmt.Errorf("tunnel %d: %w", n, err)
	}
	if cfg.Verbose {
		count, speed := work(res.Alg, res.Solve.Attempts, res.Solve.HashRate())
		fmt.Fprintf(stderr, "client: tunnel %d: %d bits, %s in %.1fms (%s), open after %.1fms\n",
			n, res.Bits, count, ms(res.Solve.Elapsed), speed, ms(res.Total))
	}
	return c, nil
}

// stdio runs one tunnel on in and out: what in gives goes to the upstream
// (its end passed on as a half-close), what the upstream sends goes to out.
func stdio(ctx context.Context, cfg config, in io.Reader, out io.Writer, stderr io.Writer) error {
	c, err := dialGate(ctx, cfg, 1, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	go func() {
		_, _ = io.Copy(c, in) // ends with in's EOF, or with the tunnel
		closeWrite(c)
	}()
	if _, err := io.Copy(out, c); err != nil && ctx.Err() == nil {
		return fmt.Errorf("tunnel: %w", err)
	}
	return nil
}

// listen forwards every connection accepted on cfg.Listen through the
// gate, each with a proof of its own, until ctx is done. ready, when not
// nil, gets the bound address once listening.
func listen(ctx context.Context, cfg config, stderr io.Writer, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	fmt.Fprintf(stderr, "client: forwarding %s through the gate at %s\n", ln.Addr(), cfg.Addr)
	if ready != nil {
		ready(ln.Addr())
	}
	var (
		wg sync.WaitGroup
		n  atomic.Int64
	)
	defer wg.Wait()
	for {
		local, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		i := n.Add(1)
		wg.Go(func() {
			defer local.Close()
			up, err := dialGate(ctx, cfg, i, stderr)
			if err != nil {
				fmt.Fprintf(stderr, "client: %v\n", err)
				return
			}
			defer up.Close()
			stop := context.AfterFunc(ctx, func() { local.Close(); up.Close() })
			defer stop()
			relay(local, up)
		})
	}
}

// relay copies both ways until both directions ended, passing each end on
// as a half-close.
func relay(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(b, a) // a direction ends with its EOF or a peer's reset alike
		closeWrite(b)
	}()
	_, _ = io.Copy(a, b)
	closeWrite(a)
	<-done
}

// closeWrite half-closes c when it can, and closes it when it cannot.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok && !errors.Is(cw.CloseWrite(), errors.ErrUnsupported) {
		return
	}
	c.Close()
}
