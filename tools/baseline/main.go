// Command baseline is a bare TCP server that loadgen -baseline measures the
// server against: one goroutine per connection, like the server, and none
// of its logic. It listens on 127.0.0.1:0, writes the bound address to
// -addr-file, and serves until SIGINT or SIGTERM.
//
// Kinds (-kind):
//   - oneline: accept, write one line, close.
//   - exchange: accept, write a line, read a line, write a line, close: the
//     protocol's round trip without its logic.
//   - seed: what the seed project powtcp replaces does on the wire: a
//     9-byte challenge, [bits][8 random bytes]; an 8-byte nonce back;
//     SHA-256 over the 9 bytes and the nonce, whose first bits/8 bytes must
//     be zero; a quote line; close. So the comparison with the seed stays
//     in the repository.
//
// Exit codes: 0 stopped by a signal; 1 it could not listen or write the
// address; 2 bad usage.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/powtcp/powtcp/protocol"
)

// Kinds of bare server, as given to -kind.
const (
	kindOneLine  = "oneline"
	kindExchange = "exchange"
	kindSeed     = "seed"
)

var kinds = []string{kindOneLine, kindExchange, kindSeed}

// Lines of the bare servers, as long as the server's typical ones.
const (
	bareChallenge = "POWTCP/1 CHALLENGE 1:0:261125233616:127.1.0.1@powtcp:sha256:Y3dzSWf0X0WbNrcNyYn4JYl3m1hZbuPTaaBcD4e5: 2000\n"
	bareQuote     = "QUOTE Well done is better than well said. — Benjamin Franklin\n"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// config is one bare server.
type config struct {
	kind     string
	bits     int
	addrFile string
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.kind, "kind", kindOneLine, "what to serve: oneline, exchange or seed")
	fs.IntVar(&c.bits, "bits", 0, "difficulty of the seed-shaped server's challenges: a multiple of 8, 0..64")
	fs.StringVar(&c.addrFile, "addr-file", "", "write the bound address here (required)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case !slices.Contains(kinds, c.kind):
		return c, fmt.Errorf("-kind %q: want oneline, exchange or seed", c.kind)
	case c.bits < 0 || c.bits > 64 || c.bits%8 != 0:
		return c, fmt.Errorf("-bits %d: want a multiple of 8, 0..64", c.bits)
	case c.addrFile == "":
		return c, errors.New("-addr-file: required")
	}
	return c, nil
}

// run serves until ctx ends and returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	c, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return 1
	}
	if err := writeAddr(c.addrFile, ln.Addr().String()); err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "baseline: write address: %v\n", err)
		return 1
	}
	serve(ctx, ln, c.kind, c.bits)
	return 0
}

// writeAddr writes addr to path through a temporary file, so that a reader
// never sees half of it.
func writeAddr(path, addr string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// serve is the bare TCP server: one goroutine per connection, like the
// server under test, and nothing else. It closes ln when ctx ends and
// returns once every connection is done.
func serve(ctx context.Context, ln net.Listener, kind string, bits int) {
	context.AfterFunc(ctx, func() { ln.Close() })
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // EMFILE and the like
			continue
		}
		wg.Go(func() {
			defer c.Close()
			session(c, kind, bits)
		})
	}
}

// session is one connection of a bare server of kind. The writes are best
// effort: a client that went away is none of the measurement's business.
func session(c net.Conn, kind string, bits int) {
	if kind == kindOneLine {
		_, _ = io.WriteString(c, bareQuote)
		return
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if kind == kindSeed {
		serveSeed(c, bits)
		return
	}
	_, _ = io.WriteString(c, bareChallenge)
	if _, err := protocol.NewReader(c).ReadLine(); err == nil {
		_, _ = io.WriteString(c, bareQuote)
	}
}

// serveSeed is one session of the seed-shaped server at bits (a multiple
// of 8: whole zero bytes).
func serveSeed(c net.Conn, bits int) {
	var challenge [9]byte
	challenge[0] = byte(bits)
	_, _ = rand.Read(challenge[1:]) // never fails (crypto/rand)
	if _, err := c.Write(challenge[:]); err != nil {
		return
	}
	var nonce [8]byte
	if _, err := io.ReadFull(c, nonce[:]); err != nil {
		return
	}
	h := sha256.New()
	h.Write(challenge[:])
	h.Write(nonce[:])
	sum := h.Sum(nil)
	for _, b := range sum[:challenge[0]/8] {
		if b != 0 {
			_, _ = io.WriteString(c, "wrong\n")
			return
		}
	}
	_, _ = io.WriteString(c, bareQuote)
}
