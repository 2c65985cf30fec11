package powserver

import (
	"net"
	"net/netip"
	"strings"
)

// Who a client is. Every per-client limit (admission's caps and rates, the
// spent store's share) and the stamp's resource use the same key, made
// here and nowhere else.

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

// resource binds a stamp to the client's key (as clientKeyString makes
// it) and this service, without ':': "127.0.0.1@powtcp". Clients of a
// listener without IP addresses (a unix socket) share one key, "local".
func resource(key, service string) string {
	return key + "@" + service
}
