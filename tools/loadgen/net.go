package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/powtcp/powtcp/client/powclient"
	"github.com/powtcp/powtcp/protocol"
)

// Source addresses. Attackers count up from 127.0.0.2, honest clients from
// 127.1.0.1; both skip .0 and .255 in the last octet.
var (
	firstAttacker = netip.AddrFrom4([4]byte{127, 0, 0, 2})
	firstHonest   = netip.AddrFrom4([4]byte{127, 1, 0, 1})
)

// addrAlloc hands out consecutive loopback source addresses, so that every
// scenario gets addresses of its own.
type addrAlloc struct {
	mu   sync.Mutex
	next netip.Addr
}

func newAddrAlloc(first netip.Addr) *addrAlloc { return &addrAlloc{next: first} }

// take returns n fresh addresses.
func (a *addrAlloc) take(n int) []netip.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]netip.Addr, 0, n)
	for len(out) < n {
		ip := a.next
		a.next = a.next.Next()
		if b := ip.As4(); b[3] == 0 || b[3] == 255 {
			continue
		}
		out = append(out, ip)
	}
	return out
}

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT: bind the source
// address but pick the port at connect time, per destination. Without it a
// load generator that binds source addresses runs out of ports sooner.
const ipBindAddressNoPort = 24

// dialer returns a dialer from the source address local.
func dialer(local netip.Addr, timeout time.Duration) *net.Dialer {
	return &net.Dialer{
		LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, 0)),
		Timeout:   timeout,
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				// Best effort: without it, dialling still works.
				_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			})
		},
	}
}

// dial connects to addr from local; ctx cancels the dial only.
func dial(ctx context.Context, local netip.Addr, addr string) (net.Conn, error) {
	return dialer(local, 10*time.Second).DialContext(ctx, "tcp", addr)
}

// closeOnDone closes c when ctx is done, so that a blocked read returns;
// the returned function stops that.
func closeOnDone(ctx context.Context, c net.Conn) func() bool {
	return context.AfterFunc(ctx, func() { c.Close() })
}

// lineConn reads protocol lines from a connection with a deadline on each.
type lineConn struct {
	net.Conn
	r *protocol.Reader
}

func newLineConn(c net.Conn) *lineConn { return &lineConn{Conn: c, r: protocol.NewReader(c)} }

// readLine reads one line within d.
func (c *lineConn) readLine(d time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(d))
	return c.r.ReadLine()
}

// writeLine writes s and "\n" within d, in one write.
func (c *lineConn) writeLine(s string, d time.Duration) error {
	c.SetWriteDeadline(time.Now().Add(d))
	_, err := c.Write([]byte(s + "\n"))
	return err
}

// classifyLine names how the server answered: "quote", an ERROR code (as
// powclient.Classify names it), or what came instead ("challenge",
// "other", or an I/O error's classifyErr).
func classifyLine(l string, err error) string {
	if err != nil {
		return classifyErr(err)
	}
	q, err := protocol.ParseReply(l)
	var pe *protocol.Error
	switch {
	case err == nil && q.Text != "":
		return "quote"
	case errors.As(err, &pe):
		return powclient.Classify(pe)
	}
	if _, err := protocol.ParseChallenge(l); err == nil {
		return "challenge"
	}
	return "other"
}

// classifyErr names an I/O error: "bad-line" for a line the protocol
// cannot read, powclient.Classify's "timeout" (a deadline) and "closed"
// (EOF or reset), else "io".
func classifyErr(err error) string {
	if errors.Is(err, protocol.ErrLineTooLong) || errors.Is(err, protocol.ErrMalformed) {
		return "bad-line"
	}
	switch c := powclient.Classify(err); c {
	case "timeout", "closed":
		return c
	}
	return "io"
}
