package powserver

import (
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
)

// Who a client is. Every per-client limit (admission's caps and rates, the
// spent store's share) and the stamp's resource use the same key, made
// here and nowhere else.

// clientAddr is the client's IP address: the zero Addr for a remote
// address that is no IP address (a unix socket's).
func clientAddr(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}
		}
		return ap.Addr().Unmap()
	}
}

// keyOf is the address a per-client limit applies to, for a client at ip:
// the IPv4 address, or the /64 of an IPv6 address (one host usually owns a
// whole /64). A client with no IP address (a unix socket's) has the zero
// Addr: such clients share one key.
func keyOf(ip netip.Addr) netip.Addr {
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// allowList is the networks whose clients pay the base price only
// (Config.AllowNetworks); SetAllowNetworks replaces it whole.
type allowList struct {
	nets atomic.Pointer[[]netip.Prefix]
}

func (l *allowList) set(nets []netip.Prefix) { l.nets.Store(&nets) }

// contains reports whether ip is in one of the networks.
func (l *allowList) contains(ip netip.Addr) bool {
	nets := l.nets.Load()
	if nets == nil || !ip.IsValid() {
		return false
	}
	for _, p := range *nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
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

// resource binds a stamp to the client's key (as clientKeyString makes
// it) and this service, without ':': "127.0.0.1@powtcp". Clients of a
// listener without IP addresses (a unix socket) share one key, "local".
func resource(key, service string) string {
	return key + "@" + service
}
