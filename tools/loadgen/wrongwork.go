package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/protocol"
)

// wrongKinds are the wrong answers and the refusal each must get:
//
//   - short: the server's challenge with a counter whose hash misses the bits;
//   - forged-mac: the challenge with its MAC (rand field) changed;
//   - forged-bits: the challenge claiming fewer bits (or, at 0 bits, another
//     date), solved for what it claims: valid work, wrong MAC;
//   - madeup: a challenge the client made up itself, solved;
//   - stolen: a solved stamp issued to another address;
//   - replayed: a solved stamp that was already redeemed once;
//   - expired: a solved stamp sent after its challenge expired.
var wrongKinds = []kindSpec{
	{"short", []string{"bad-solution"}},
	{"forged-mac", []string{"forged"}},
	{"forged-bits", []string{"forged"}},
	{"madeup", []string{"forged"}},
	{"stolen", []string{"wrong-resource"}},
	{"replayed", []string{"replayed", "expired"}}, // expired: it aged out on the way
	{"expired", []string{"expired"}},
}

// craft turns a challenge into a wrong answer of kind, for the kinds that
// need no seed. ok is false when kind cannot be made from prefix (short
// work at 0 bits).
func craft(kind, prefix string) (stamp string, ok bool) {
	st, err := hashcash.ParsePrefix(prefix)
	if err != nil {
		return "", false
	}
	alg, err := st.Alg()
	if err != nil {
		return "", false
	}
	switch kind {
	case "short":
		return wrongwork.Short(prefix)
	case "forged-mac":
		return wrongwork.FlipMAC(prefix) + "A", true
	case "forged-bits":
		if st.Bits > 0 {
			st.Bits = min(st.Bits-1, 8)
		} else if t, err := st.Time(); err == nil {
			st.Date = t.Add(time.Second).UTC().Format("060102150405")
		}
		return wrongwork.Solve(alg, st.Prefix(), st.Bits), true
	case "madeup":
		var raw [30]byte
		rand.Read(raw[:])
		st.Bits = 0
		st.Date = time.Now().UTC().Format("060102150405")
		st.Rand = base64.RawStdEncoding.EncodeToString(raw[:])
		st.Counter = "A"
		return st.String(), true
	}
	return "", false
}

// seed is an honestly solved stamp, kept to be replayed or sent expired.
type seed struct {
	ip      netip.Addr // the address it was issued to
	stamp   string
	expires time.Time // its date plus the server's challenge TTL
}

// solveSeed gets a challenge from ip and solves it. It returns the open
// connection, on which the solution can be sent.
func solveSeed(ctx context.Context, ip netip.Addr, addr string, ttl time.Duration) (*lineConn, seed, error) {
	c, err := dial(ctx, ip, addr)
	if err != nil {
		return nil, seed{}, err
	}
	lc := newLineConn(c)
	l, err := lc.readLine(30 * time.Second)
	if err != nil {
		c.Close()
		return nil, seed{}, fmt.Errorf("read challenge: %w", err)
	}
	ch, err := protocol.ParseChallenge(l)
	if err != nil {
		c.Close()
		return nil, seed{}, err
	}
	st, err := hashcash.ParsePrefix(ch.Prefix)
	if err != nil {
		c.Close()
		return nil, seed{}, err
	}
	issued, _ := st.Time()
	sctx, cancel := context.WithTimeout(ctx, ch.Window)
	defer cancel()
	res, err := hashcash.Solve(sctx, ch.Prefix, hashcash.SolveOptions{Workers: 1})
	if err != nil {
		c.Close()
		return nil, seed{}, fmt.Errorf("solve %d bits: %w", st.Bits, err)
	}
	return lc, seed{ip: ip, stamp: res.Stamp, expires: issued.Add(ttl)}, nil
}

// prepareExpired solves n challenges and keeps them unsent, so that they
// can be sent once they have expired.
func prepareExpired(ctx context.Context, ips []netip.Addr, addr string, ttl time.Duration) ([]seed, error) {
	var out []seed
	for _, ip := range ips {
		lc, sd, err := solveSeed(ctx, ip, addr, ttl)
		if err != nil {
			return out, err
		}
		lc.Close()
		out = append(out, sd)
	}
	return out, nil
}

// replayMargin is how long before its expiry a replay seed is retired.
const replayMargin = 500 * time.Millisecond

// seedBox holds the seeds the wrong-work senders use.
type seedBox struct {
	mu      sync.Mutex
	replay  *seed         // redeemed once; replayed until replayMargin before it expires
	renewed chan struct{} // closed (and replaced) when replay is
	expired []seed
}

func (b *seedBox) setReplay(s seed) {
	b.mu.Lock()
	b.replay = &s
	if b.renewed != nil {
		close(b.renewed)
		b.renewed = nil
	}
	b.mu.Unlock()
}

// waitReplayable returns the current replay seed while it is fresh
// enough, and waits for the next one when there is none (before the first
// one is redeemed, or while the next is solved); nil when ctx ends first.
func (b *seedBox) waitReplayable(ctx context.Context) *seed {
	for {
		b.mu.Lock()
		if sd := b.replay; sd != nil && !time.Now().After(sd.expires.Add(-replayMargin)) {
			b.mu.Unlock()
			return sd
		}
		if b.renewed == nil {
			b.renewed = make(chan struct{})
		}
		ch := b.renewed
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
		}
	}
}

// expiredNow returns a seed that has expired, if any.
func (b *seedBox) expiredNow(now time.Time, i int) *seed {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.expired) == 0 {
		return nil
	}
	s := b.expired[i%len(b.expired)]
	if !now.After(s.expires.Add(50 * time.Millisecond)) {
		return nil
	}
	return &s
}

// wrongWork runs workers that send wrong answers as fast as they can, and
// one that keeps a fresh redeemed stamp for them to replay.
func wrongWork(ctx context.Context, wg *sync.WaitGroup, a *attack, ips, seedIPs []netip.Addr, box *seedBox, workers int, ttl time.Duration) {
	for _, k := range wrongKinds {
		a.expect[k.name] = k.expect
	}
	a.expect["seed"] = []string{"quote"}
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			started := time.Now()
			lc, sd, err := solveSeed(ctx, seedIPs[i%len(seedIPs)], a.addr, ttl)
			if err != nil {
				if ctx.Err() == nil {
					a.note("replay seed: " + err.Error())
					pause(ctx, time.Second)
				}
				continue
			}
			stop := closeOnDone(ctx, lc)
			err = lc.writeLine("SOLUTION "+sd.stamp, 10*time.Second)
			l, rerr := lc.readLine(30 * time.Second)
			lc.Close()
			stop()
			if ctx.Err() != nil {
				return
			}
			if reply := classifyLine(l, rerr); err != nil || reply != "quote" {
				a.reply("seed", reply)
				continue
			}
			a.legit.Add(1) // an honest redemption, not a wrong answer
			box.setReplay(sd)
			// The next seed is due before this one retires: start on it
			// twice the last solve's time ahead.
			pause(ctx, time.Until(sd.expires.Add(-replayMargin-2*time.Since(started))))
		}
	})
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i++ {
				kind := wrongKinds[i%len(wrongKinds)].name
				ip, stamp := ips[i%len(ips)], ""
				switch kind {
				case "replayed", "stolen":
					// Waiting rather than skipping makes every round of
					// the kinds include these two, however slow the seed's
					// solve (Equi-X on a loaded machine).
					sd := box.waitReplayable(ctx)
					if sd == nil {
						return
					}
					stamp = sd.stamp
					if kind == "replayed" {
						ip = sd.ip
					}
				case "expired":
					sd := box.expiredNow(time.Now(), i)
					if sd == nil {
						continue
					}
					ip, stamp = sd.ip, sd.stamp
				}
				lc, prefix, ok := a.open(ctx, ip, kind)
				if !ok {
					pause(ctx, jitter(20*time.Millisecond))
					continue
				}
				if stamp == "" {
					if stamp, ok = craft(kind, prefix); !ok {
						lc.Close()
						continue
					}
				}
				stop := closeOnDone(ctx, lc)
				err := lc.writeLine("SOLUTION "+stamp, 10*time.Second)
				l, rerr := lc.readLine(30 * time.Second)
				lc.Close()
				stop()
				if ctx.Err() != nil {
					return
				}
				if err != nil && rerr != nil {
					a.reply(kind, classifyErr(err))
					continue
				}
				a.reply(kind, classifyLine(l, rerr))
			}
		})
	}
}
