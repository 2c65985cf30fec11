package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// attack is a running scenario.
type attack struct {
	name    string
	addr    string
	started time.Time
	stopped time.Time

	conns      atomic.Int64
	dialErrors atomic.Int64
	held       atomic.Int64
	heldPeak   atomic.Int64
	legit      atomic.Int64
	ready      atomic.Int64 // clients past their first try (the gate's tunnel holders)
	replies    counts       // "kind\treply"
	expect     map[string][]string
	solve      func(context.Context, string, hashcash.SolveOptions) (hashcash.Result, error) // the gate's attackers' solver; nil: powclient's

	mu    sync.Mutex
	notes []string
}

func newAttack(name, addr string) *attack {
	return &attack{name: name, addr: addr, started: time.Now(), expect: map[string][]string{}}
}

func (a *attack) note(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.Contains(a.notes, s) {
		a.notes = append(a.notes, s)
	}
}

func (a *attack) reply(kind, reply string) { a.replies.inc(kind + "\t" + reply) }

// dial opens a connection from ip and counts it.
func (a *attack) dial(ctx context.Context, ip netip.Addr) (net.Conn, error) {
	c, err := dial(ctx, ip, a.addr)
	if err != nil {
		if ctx.Err() == nil {
			a.dialErrors.Add(1)
			if errors.Is(err, syscall.EADDRNOTAVAIL) {
				a.note("dial: out of source ports (EADDRNOTAVAIL)")
			}
		}
		return nil, err
	}
	a.conns.Add(1)
	return c, nil
}

func (a *attack) stats() report.AttackStats {
	end := a.stopped
	if end.IsZero() {
		end = time.Now()
	}
	st := report.AttackStats{
		Conns: a.conns.Load(), DialErrors: a.dialErrors.Load(), HeldPeak: a.heldPeak.Load(),
		Legit: a.legit.Load(), Replies: map[string]map[string]int64{},
	}
	if d := end.Sub(a.started).Seconds(); d > 0 {
		st.ConnsPerSec = float64(st.Conns) / d
	}
	for k, n := range a.replies.snapshot() {
		kind, reply, _ := strings.Cut(k, "\t")
		if st.Replies[kind] == nil {
			st.Replies[kind] = map[string]int64{}
		}
		st.Replies[kind][reply] += n
		switch {
		case reply == "quote":
			if st.Accepted == nil {
				st.Accepted = map[string]int64{}
			}
			st.Accepted[kind] += n
		case a.expect[kind] != nil && !slices.Contains(a.expect[kind], reply) && !benign(reply):
			if st.Unexpected == nil {
				st.Unexpected = map[string]int64{}
			}
			st.Unexpected[kind] += n
		}
	}
	a.mu.Lock()
	st.Notes = slices.Clone(a.notes)
	a.mu.Unlock()
	return st
}

// benign replies say the server dropped or refused the connection for its
// own reasons (capacity, the solve window, shutdown), not that it misread
// what was sent.
func benign(reply string) bool {
	switch reply {
	case "closed", "busy", "too-slow", "timeout", "open-closed", "open-busy", "open-timeout":
		return true
	}
	return false
}

// pause waits d or until ctx is done; it reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// jitter returns d scaled by a random factor in [0.5, 1.5).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}

// open dials from ip and reads the server's first line. It returns the
// connection when that line is a challenge, and counts kind's reply as
// "open-<what>" otherwise.
func (a *attack) open(ctx context.Context, ip netip.Addr, kind string) (*lineConn, string, bool) {
	c, err := a.dial(ctx, ip)
	if err != nil {
		return nil, "", false
	}
	lc := newLineConn(c)
	l, err := lc.readLine(30 * time.Second)
	if err == nil {
		if ch, err := protocol.ParseChallenge(l); err == nil {
			return lc, ch.Prefix, true
		}
	}
	if ctx.Err() == nil {
		a.reply(kind, "open-"+classifyLine(l, err))
	}
	c.Close()
	return nil, "", false
}

// ---- slowloris ----

// slowloris holds n sockets, perIP per source address, never answering,
// and dials again whenever the server drops one.
func slowloris(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, n, perIP int) {
	a.expect["held"] = []string{"too-slow", "busy"} // busy: closed to make room
	dials := make(chan struct{}, 256)               // dials in flight, so that the ramp does not overflow the backlog
	for i := range n {
		ip := ips[i/perIP]
		wg.Go(func() {
			for ctx.Err() == nil {
				dials <- struct{}{}
				lc, _, ok := a.open(ctx, ip, "open")
				<-dials
				if !ok {
					pause(ctx, jitter(100*time.Millisecond))
					continue
				}
				stop := closeOnDone(ctx, lc)
				h := a.held.Add(1)
				for p := a.heldPeak.Load(); h > p && !a.heldPeak.CompareAndSwap(p, h); p = a.heldPeak.Load() {
				}
				l, err := lc.readLine(24 * time.Hour) // until the server gives up on us
				a.held.Add(-1)
				if ctx.Err() == nil {
					a.reply("held", classifyLine(l, err))
				}
				lc.Close()
				stop()
			}
		})
	}
}

// ---- garbage ----

// kindSpec is a kind of attack and the replies it must get.
type kindSpec struct {
	name   string
	expect []string
}

// garbageKinds and the reply each must get.
var garbageKinds = []kindSpec{
	{"random", []string{"malformed", "version"}},
	{"endless", []string{"malformed"}},
	{"oversized", []string{"malformed"}},
	{"split-forged", []string{"forged"}},
	{"split-short", []string{"bad-solution", "forged"}},
	{"bad-utf8", []string{"malformed"}},
	{"version", []string{"version"}},
}

// garbage runs workers that send what is not a solution: random bytes,
// endless and oversized lines, control characters, another version, and
// syntactically valid wrong solutions split into 1-byte writes.
func garbage(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, workers int) {
	for _, k := range garbageKinds {
		a.expect[k.name] = k.expect
	}
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i++ {
				kind := garbageKinds[i%len(garbageKinds)].name
				lc, prefix, ok := a.open(ctx, ips[i%len(ips)], kind)
				if !ok {
					pause(ctx, jitter(20*time.Millisecond))
					continue
				}
				stop := closeOnDone(ctx, lc)
				reply := sendGarbage(lc, kind, prefix)
				if ctx.Err() == nil {
					a.reply(kind, reply)
				}
				lc.Close()
				stop()
			}
		})
	}
}

func sendGarbage(lc *lineConn, kind, prefix string) string {
	const wt = 10 * time.Second
	var err error
	switch kind {
	case "random":
		// Ends in a newline, so that the server answers at once; lines
		// that never end are "endless".
		b := make([]byte, 1+rand.N(2048))
		for i := range b {
			b[i] = byte(rand.Uint32())
		}
		b[len(b)-1] = '\n'
		lc.SetWriteDeadline(time.Now().Add(wt))
		_, err = lc.Write(b)
	case "endless":
		chunk := []byte(strings.Repeat("A", 4096))
		lc.SetWriteDeadline(time.Now().Add(wt))
		for range 16 { // 64 KiB without a newline, or until the server hangs up
			if _, err = lc.Write(chunk); err != nil {
				break
			}
		}
	case "oversized":
		err = lc.writeLine("SOLUTION "+strings.Repeat("A", 2000), wt)
	case "bad-utf8":
		err = lc.writeLine("SOLUTION \xff\xfe\x01\x02\x7f", wt)
	case "version":
		err = lc.writeLine("POWTCP/9 SOLUTION 1:0:000101:x:sha256:A:A", wt)
	case "split-forged", "split-short":
		stamp, ok := "", false
		if kind == "split-short" {
			stamp, ok = craft("short", prefix)
		}
		if !ok {
			stamp, _ = craft("forged-mac", prefix)
		}
		line := "SOLUTION " + stamp + "\n"
		lc.SetWriteDeadline(time.Now().Add(wt))
		for i := 0; i < len(line) && err == nil; i++ {
			_, err = lc.Write([]byte{line[i]})
		}
	}
	// The server may hang up before reading everything; its reply is
	// still in our receive buffer.
	l, rerr := lc.readLine(wt)
	if rerr == nil || err == nil {
		return classifyLine(l, rerr)
	}
	return classifyErr(err)
}

// ---- storm ----

var stormKinds = []string{"close", "reset", "read-close"}

// storm opens connections and closes them at once, with a FIN or a RST, or
// after reading the challenge, as fast as it can.
func storm(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, workers int) {
	a.expect["read-close"] = []string{"challenge"}
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i++ {
				kind := stormKinds[i%len(stormKinds)]
				c, err := a.dial(ctx, ips[i%len(ips)])
				if err != nil {
					pause(ctx, jitter(20*time.Millisecond))
					continue
				}
				switch kind {
				case "reset":
					c.(*net.TCPConn).SetLinger(0)
				case "read-close":
					lc := newLineConn(c)
					l, err := lc.readLine(10 * time.Second)
					if ctx.Err() == nil {
						a.reply(kind, classifyLine(l, err))
					}
				}
				c.Close()
				if kind != "read-close" {
					a.reply(kind, "sent")
				}
			}
		})
	}
}

// ---- replay-cache fill and the solving flood ----

// replayFill redeems honest solutions from one address as fast as workers
// can, to fill the replay cache for everyone: the server must refuse it
// (busy) once it holds its share, and serve the others meanwhile.
func replayFill(ctx context.Context, wg *sync.WaitGroup, a *attack, ip netip.Addr, workers int) {
	redeem(ctx, wg, a, []netip.Addr{ip}, workers, "redeem")
}

// solveFlood redeems honest solutions from many addresses as fast as
// workers can: paying attackers. The price must rise for everyone (the
// load follows redeemed proofs) and their served rate fall with it; the
// bits of each challenge they were given are counted as "price" replies.
func solveFlood(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, workers int) {
	redeem(ctx, wg, a, ips, workers, "solve")
}

// redeem runs workers that open a connection from ips in turn, solve its
// challenge and redeem it, counting kind's replies.
func redeem(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, workers int, kind string) {
	// Its solutions are honest: a quote is "served", not a wrong answer accepted.
	a.expect[kind] = []string{"served", "busy"}
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i += workers {
				lc, prefix, ok := a.open(ctx, ips[i%len(ips)], kind)
				if !ok {
					pause(ctx, jitter(10*time.Millisecond))
					continue
				}
				stop := closeOnDone(ctx, lc)
				if st, err := hashcash.ParsePrefix(prefix); err == nil && kind == "solve" {
					a.reply("price", fmt.Sprintf("%d bits", st.Bits))
				}
				res, err := hashcash.Solve(ctx, prefix, hashcash.SolveOptions{Workers: 1})
				if err == nil {
					err = lc.writeLine("SOLUTION "+res.Stamp, 10*time.Second)
				}
				if err == nil {
					l, err := lc.readLine(10 * time.Second)
					if r := classifyLine(l, err); ctx.Err() == nil {
						if r == "quote" {
							r = "served"
						}
						a.reply(kind, r)
					}
				}
				lc.Close()
				stop()
			}
		})
	}
}

// ---- window inflation ----

// inflate opens burst connections from one address at once (closing each),
// then a silent one, and compares the window it gets with a calm address's
// at the same moment: connections, refused ones included, must not buy a
// longer hold on a slot. Each probe is "ok" or "inflated".
func inflate(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, burst int) {
	a.expect["window"] = []string{"ok", "no-challenge"} // no-challenge: refused, e.g. over the per-address cap
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			stormer, calm := ips[(2*i)%len(ips)], ips[(2*i+1)%len(ips)]
			for range burst {
				if c, err := a.dial(ctx, stormer); err == nil {
					c.Close()
				}
			}
			got, ok1 := a.window(ctx, stormer)
			base, ok2 := a.window(ctx, calm)
			if ctx.Err() != nil {
				return
			}
			switch {
			case !ok1 || !ok2:
				a.reply("window", "no-challenge")
			case got > base:
				a.reply("window", "inflated")
				a.note(fmt.Sprintf("window after a burst of %d: %v, a calm address got %v", burst, got, base))
			default:
				a.reply("window", "ok")
			}
		}
	})
}

// window opens a connection from ip and returns the window of its challenge.
func (a *attack) window(ctx context.Context, ip netip.Addr) (time.Duration, bool) {
	c, err := a.dial(ctx, ip)
	if err != nil {
		return 0, false
	}
	defer c.Close()
	l, err := newLineConn(c).readLine(10 * time.Second)
	if err != nil {
		return 0, false
	}
	ch, err := protocol.ParseChallenge(l)
	return ch.Window, err == nil
}
