package powserver

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// rate is an exponentially decaying event rate in events per second:
// a burst raises it at once, calm lets it fall with time constant tau.
type rate struct {
	v    float64
	last time.Time
}

const rateTau = 10 * time.Second

// at returns the rate as of now, decayed since the last event.
func (r rate) at(now time.Time) float64 {
	dt := now.Sub(r.last).Seconds()
	if dt <= 0 {
		return r.v
	}
	return r.v * math.Exp(-dt/rateTau.Seconds())
}

// add records one event at now.
func (r *rate) add(now time.Time) {
	r.v = r.at(now) + 1/rateTau.Seconds()
	r.last = now
}

// extraBits is how many doublings rate is above calm: 0 at or below calm,
// 1 at twice calm, 2 at four times, and so on.
func extraBits(rate, calm float64) int {
	if rate <= calm || calm <= 0 {
		return 0
	}
	return int(math.Log2(rate / calm))
}

// Thresholds of adaptive difficulty.
const (
	// calmIPRate is one address's connection rate (per second) above which
	// each doubling adds a bit for that address.
	calmIPRate = 2
)

// fillBits is what a connection table filled to inFlight of max adds:
// one bit at an eighth full, two at a quarter, three at half, four when full.
func fillBits(inFlight, max int) int {
	if max <= 0 || inFlight*8 < max {
		return 0
	}
	return int(math.Log2(float64(inFlight) * 16 / float64(max)))
}

// ipState is what the server remembers of one client address.
type ipState struct {
	conns int  // connections in flight
	rate  rate // recent connection rate
}

// clientKey is the address a per-client limit applies to: the IPv4 address,
// or the /64 of an IPv6 address (one host usually owns a whole /64). A
// remote address that is no IP address (a unix socket's) gives the zero
// Addr: such clients share one key.
func clientKey(a net.Addr) netip.Addr {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr().Unmap()
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}
		}
		ip = ap.Addr().Unmap()
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// clientKeyString is a client key as the stamp's resource carries it:
// without ':' (the reference hashcash tool splits on it), "local" for the
// zero key.
func clientKeyString(k netip.Addr) string {
	if !k.IsValid() {
		return "local"
	}
	return strings.ReplaceAll(k.String(), ":", "-")
}

// maxClientKeyLen is the longest clientKeyString: an IPv6 address in full
// (a /64 key is shorter, but the bound need not depend on that).
const maxClientKeyLen = len("ffff-ffff-ffff-ffff-ffff-ffff-ffff-ffff")

// outOfDescriptors reports whether an accept error means the process or
// the system ran out of file descriptors.
func outOfDescriptors(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// ReplayShare is how many unexpired redeemed challenges one client address
// may hold in the spent store: an eighth of ReplayCacheSize, so that one
// address redeeming solutions as fast as it can fills at most that and
// leaves the rest to everyone else. (At the default size, 131,072 per
// challenge lifetime: over 2,000 redemptions a second from one address.)
// A shared store is given the same bound.
func (c Config) ReplayShare() int { return max(1, c.ReplayCacheSize/8) }
