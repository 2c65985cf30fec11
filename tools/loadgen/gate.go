package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/powtcp/powtcp/client/powclient"
	"github.com/powtcp/powtcp/hashcash"
)

// Gate mode (-gate): the server relays proven connections to an upstream
// (server -upstream), here an echo service, and the clients go through
// powclient.Dial.

// stallLine, as the first line of a tunnel, makes the echo upstream stop
// reading and answering on that connection.
const stallLine = "STALL"

// maxEchoLine bounds a line the echo upstream reads.
const maxEchoLine = 4096

// echoUpstream is the service behind the gate: it reads lines and writes
// each back, except on a connection whose first line is stallLine, which
// it holds without reading or answering until release (or Close).
type echoUpstream struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]bool // connection -> stalled
}

// startEcho serves an echo upstream on 127.0.0.1:0.
func startEcho() (*echoUpstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &echoUpstream{ln: ln, open: map[net.Conn]bool{}}
	u.wg.Go(u.serve)
	return u, nil
}

// Addr is where the upstream listens.
func (u *echoUpstream) Addr() string { return u.ln.Addr().String() }

func (u *echoUpstream) serve() {
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.mu.Lock()
		u.open[c] = false
		u.mu.Unlock()
		u.wg.Go(func() { u.handle(c) })
	}
}

// handle echoes c's lines until it ends, or stalls it.
func (u *echoUpstream) handle(c net.Conn) {
	r := bufio.NewReaderSize(c, maxEchoLine)
	for first := true; ; first = false {
		l, err := r.ReadSlice('\n')
		if err != nil {
			break
		}
		if first && strings.TrimRight(string(l), "\r\n") == stallLine {
			u.mu.Lock()
			if _, ok := u.open[c]; ok {
				u.open[c] = true
			}
			u.mu.Unlock()
			return // stalled: held, neither read nor answered, until release
		}
		if _, err := c.Write(l); err != nil {
			break
		}
	}
	u.mu.Lock()
	delete(u.open, c)
	u.mu.Unlock()
	c.Close()
}

// stalled is the number of connections held stalled.
func (u *echoUpstream) stalled() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, s := range u.open {
		if s {
			n++
		}
	}
	return n
}

// release closes the stalled connections: the upstream recovered.
func (u *echoUpstream) release() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for c, s := range u.open {
		if s {
			c.Close()
			delete(u.open, c)
		}
	}
}

// Close stops the upstream and closes every connection.
func (u *echoUpstream) Close() {
	u.ln.Close()
	u.mu.Lock()
	for c := range u.open {
		c.Close()
	}
	u.mu.Unlock()
	u.wg.Wait()
}

// errBadEcho: the echo did not come back intact.
var errBadEcho = errors.New("the echo came back wrong")

// echoOnce writes line and reads it back within d.
func echoOnce(c net.Conn, line string, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return err
	}
	got, err := bufio.NewReaderSize(c, maxEchoLine).ReadString('\n')
	if err != nil {
		return err
	}
	if got != line+"\n" {
		return fmt.Errorf("%w: sent %q, got %q", errBadEcho, line+"\n", got)
	}
	return nil
}

// gateSession is one honest session through the gate: prove, open the
// tunnel, one line there and back, close. Total is dial to the echo.
func gateSession(ctx context.Context, addr string, o powclient.Options, n uint64) (powclient.Result, error) {
	var res powclient.Result
	start := time.Now()
	c, err := powclient.Dial(ctx, addr, o, &res)
	if err != nil {
		return res, err
	}
	defer c.Close()
	d := time.Minute
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	err = echoOnce(c, fmt.Sprintf("honest %d %s", n, strings.Repeat("x", 32)), d)
	res.Total = time.Since(start)
	return res, err
}

// dialTunnel proves from ip and opens a tunnel, counting the connection,
// or kind's refusal as "open-<class>".
func (a *attack) dialTunnel(ctx context.Context, ip netip.Addr, kind string) (net.Conn, bool) {
	c, err := powclient.Dial(ctx, a.addr, powclient.Options{Workers: 1, Dialer: dialer(ip, 10*time.Second), Solve: a.solve}, nil)
	if err != nil {
		if ctx.Err() == nil {
			a.dialErrors.Add(1)
			a.reply(kind, "open-"+powclient.Classify(err)) // open-busy, open-too-slow, ...: benign
		}
		return nil, false
	}
	a.conns.Add(1)
	return c, true
}

// hold counts c as held until the returned func is called.
func (a *attack) hold() func() {
	h := a.held.Add(1)
	for p := a.heldPeak.Load(); h > p && !a.heldPeak.CompareAndSwap(p, h); p = a.heldPeak.Load() {
	}
	return func() { a.held.Add(-1) }
}

// tunnelRefused are the refusals of a tunnel expected: the gate's over a
// cap, and the server's of a solve that took too long.
var tunnelRefused = []string{"open-busy", "open-too-slow"} // too slow: this machine's CPUs are shared with the honest clients

// ---- tunnelhold ----

// tunnelHold opens n tunnels from ips, each proven honestly, and holds them
// idle (never sending) until the gate closes them; then opens another. Over
// the per-address cap the gate refuses them (busy); idle ones it closes
// after its idle timeout ("closed").
func tunnelHold(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, n int) {
	a.expect["hold"] = append([]string{"closed"}, tunnelRefused...)
	for i := range n {
		ip := ips[i%len(ips)]
		wg.Go(func() {
			var first sync.Once
			for ctx.Err() == nil {
				c, ok := a.dialTunnel(ctx, ip, "hold")
				first.Do(func() { a.ready.Add(1) })
				if !ok {
					// Over the cap: try again now and then, each try a
					// solve (solveflood is the scenario that solves flat out).
					pause(ctx, jitter(2*time.Second))
					continue
				}
				stop, unhold := closeOnDone(ctx, c), a.hold()
				_, err := c.Read(make([]byte, 64)) // until the gate closes it; nothing comes
				unhold()
				if ctx.Err() == nil {
					r := classifyErr(err)
					if err == nil {
						r = "data"
					}
					a.reply("hold", r)
				}
				c.Close()
				stop()
			}
		})
	}
}

// ---- trickle ----

// trickle opens n tunnels from ips and sends a line one byte every
// `every`, reading each echo back, so that the tunnel never idles, until
// the gate ends it (its lifetime): "closed"; an echo that comes back wrong
// is "bad-echo".
func trickle(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, n int, every time.Duration) {
	a.expect["trickle"] = append([]string{"closed"}, tunnelRefused...)
	for i := range n {
		ip := ips[i%len(ips)]
		wg.Go(func() {
			var first sync.Once
			for ctx.Err() == nil {
				c, ok := a.dialTunnel(ctx, ip, "trickle")
				first.Do(func() { a.ready.Add(1) })
				if !ok {
					pause(ctx, jitter(200*time.Millisecond))
					continue
				}
				stop, unhold := closeOnDone(ctx, c), a.hold()
				err := trickleLines(ctx, c, every)
				unhold()
				if ctx.Err() == nil {
					r := classifyErr(err)
					if errors.Is(err, errBadEcho) {
						r = "bad-echo"
						a.note(err.Error())
					}
					a.reply("trickle", r)
				}
				c.Close()
				stop()
			}
		})
	}
}

// trickleLines sends "trickle\n" a byte every `every` and reads it back,
// again and again, until an error.
func trickleLines(ctx context.Context, c net.Conn, every time.Duration) error {
	const line = "trickle\n"
	r := bufio.NewReaderSize(c, maxEchoLine)
	for {
		for i := range len(line) {
			if !pause(ctx, every) {
				return ctx.Err()
			}
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte{line[i]}); err != nil {
				return err
			}
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if got != line {
			return fmt.Errorf("%w: sent %q, got %q", errBadEcho, line, got)
		}
	}
}

// ---- stall ----

// stall runs workers that open tunnels from ips; every other one of each
// worker's asks the upstream to stall (stallLine) and then waits for an echo that never comes
// ("stalled" when its wait of stallWait passes), the others make one round
// trip ("echo"). A stalled tunnel is closed by the client, and lingers on
// the gate until its idle timeout: the gate's caps must keep those from
// starving the honest clients.
func stall(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, workers int) {
	a.expect["stall"] = append([]string{"stalled"}, tunnelRefused...)
	a.expect["echo"] = append([]string{"echo"}, tunnelRefused...)
	const stallWait = time.Second
	for w := range workers {
		wg.Go(func() {
			for i, j := w, 0; ctx.Err() == nil; i, j = i+workers, j+1 {
				kind := "echo"
				if (w+j)%2 == 0 { // half the workers start with each kind
					kind = "stall"
				}
				c, ok := a.dialTunnel(ctx, ips[i%len(ips)], kind)
				if !ok {
					pause(ctx, jitter(200*time.Millisecond))
					continue
				}
				stop := closeOnDone(ctx, c)
				var err error
				if kind == "stall" {
					if _, err = c.Write([]byte(stallLine + "\n")); err == nil {
						err = echoOnce(c, "anyone there?", stallWait)
					}
				} else {
					err = echoOnce(c, fmt.Sprintf("echo %d", i), 10*time.Second)
				}
				if ctx.Err() == nil {
					a.reply(kind, stallReply(kind, err))
				}
				c.Close()
				stop()
				pause(ctx, jitter(stallWait)) // each tunnel is a solve: not flat out
			}
		})
	}
}

// stallReply names how a stall scenario's tunnel went.
func stallReply(kind string, err error) string {
	switch {
	case err == nil && kind == "stall":
		return "answered" // the upstream should not have
	case err == nil:
		return "echo"
	case errors.Is(err, errBadEcho):
		return "bad-echo"
	case kind == "stall" && classifyErr(err) == "timeout":
		return "stalled"
	}
	return classifyErr(err)
}

// waitReady waits until each of attacks (nil ones skipped) has had every
// client try its first tunnel, until deadline: the burst of their first
// solves is over before the honest phase.
func waitReady(ctx context.Context, deadline time.Time, want map[*attack]int) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for a, n := range want {
		for a != nil && a.ready.Load() < int64(n) && time.Now().Before(deadline) {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}
}

// oneAtATime returns a solver that runs one solve at a time, however many
// callers: the gate's attackers share it, so that together they take at
// most one of this machine's CPUs from the honest clients. Their re-opening
// rate is then what one core pays for; solveflood is the scenario that
// measures solving attackers at full strength.
func oneAtATime() func(context.Context, string, hashcash.SolveOptions) (hashcash.Result, error) {
	slot := make(chan struct{}, 1)
	return func(ctx context.Context, prefix string, o hashcash.SolveOptions) (hashcash.Result, error) {
		select {
		case slot <- struct{}{}:
		case <-ctx.Done():
			return hashcash.Result{}, ctx.Err()
		}
		defer func() { <-slot }()
		return hashcash.Solve(ctx, prefix, o)
	}
}
