// Package powclient is the client side of a powtcp session: dial, read the
// challenge, solve it, answer, read the quote. Command client and the
// developer tools (demo, load generator) share it.
package powclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
)

// Mode is what a session answers: an honest solution, or a wrong one on purpose.
type Mode int

const (
	Honest Mode = iota
	// ShortWork answers with a counter whose hash misses the difficulty
	// (at difficulty 0, where every counter works, it forges the MAC instead).
	ShortWork
	// Forged answers with a solved stamp whose MAC was changed.
	Forged
)

// Options configure a session. The zero value is an honest session with
// one solver worker per CPU and no time limit but ctx's.
type Options struct {
	Workers  int            // solver goroutines; GOMAXPROCS when 0
	Mode     Mode           // Honest unless testing the server
	Dialer   *net.Dialer    // e.g. with LocalAddr set; a zero Dialer when nil
	Progress func(Progress) // called about four times a second during a solve
}

// Progress is a solve in progress.
type Progress struct {
	Bits     int
	Attempts uint64
	Elapsed  time.Duration
}

// Result is one served session.
type Result struct {
	Quote     string
	Bits      int           // difficulty the server asked for
	Window    time.Duration // solve window the server gave
	Solve     hashcash.Result
	Total     time.Duration // dial to quote
	LocalAddr net.Addr
}

// Error codes the client itself reports, besides the server's.
var (
	// ErrNoChallenge: the server did not send a valid challenge.
	ErrNoChallenge = errors.New("no valid challenge")
	// ErrWindow: solving took longer than the server's solve window.
	ErrWindow = errors.New("solve window exceeded")
)

// Fetch runs one session against addr. A refusal by the server is returned
// as a *protocol.Error (errors.As); ctx bounds the whole session.
func Fetch(ctx context.Context, addr string, opt Options) (Result, error) {
	start := time.Now()
	d := opt.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	res := Result{LocalAddr: conn.LocalAddr()}
	r := protocol.NewReader(conn)
	ch, err := r.ReadChallenge()
	if err != nil {
		return res, ctxErr(ctx, err)
	}
	prefix, err := hashcash.ParsePrefix(ch.Prefix)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrNoChallenge, err)
	}
	res.Bits, res.Window = prefix.Bits, ch.Window

	sctx, cancel := context.WithTimeout(ctx, ch.Window)
	defer cancel()
	so := hashcash.SolveOptions{Workers: opt.Workers}
	if opt.Progress != nil {
		solveStart := time.Now()
		so.Progress = func(n uint64) { opt.Progress(Progress{Bits: res.Bits, Attempts: n, Elapsed: time.Since(solveStart)}) }
	}
	res.Solve, err = hashcash.Solve(sctx, ch.Prefix, so)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return res, fmt.Errorf("%w: %v at %d bits", ErrWindow, ch.Window, res.Bits)
		}
		return res, err
	}
	stamp := res.Solve.Stamp
	if opt.Mode != Honest {
		stamp = spoil(prefix, stamp, opt.Mode)
	}
	if err := protocol.Write(conn, protocol.Solution{Stamp: stamp}); err != nil {
		return res, ctxErr(ctx, fmt.Errorf("send solution: %w", err))
	}
	q, err := r.ReadReply()
	if err != nil {
		return res, ctxErr(ctx, err)
	}
	res.Quote = q.Text
	res.Total = time.Since(start)
	return res, nil
}

// spoil turns a valid stamp into a wrong one of the given mode.
func spoil(prefix hashcash.Stamp, stamp string, mode Mode) string {
	alg, _ := prefix.Alg()
	if mode == ShortWork && prefix.Bits > 0 {
		for i := 0; ; i++ {
			s := fmt.Sprintf("%s%x", prefix.Prefix(), i)
			if hashcash.ZeroBits(alg, s) < prefix.Bits {
				return s
			}
		}
	}
	// Change one character of the MAC in the rand field.
	st, _ := hashcash.Parse(stamp)
	c := "A"
	if strings.HasPrefix(st.Rand, "A") {
		c = "B"
	}
	st.Rand = c + st.Rand[1:]
	return st.String()
}

// ctxErr prefers the context's error over the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
