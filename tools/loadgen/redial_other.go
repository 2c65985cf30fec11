//go:build !linux

package main

import (
	"context"
	"net/netip"
	"sync"
)

// redial is the re-dial flood, which drives raw sockets with epoll: Linux
// only, as is the rest of the load generator.
func redial(_ context.Context, _ *sync.WaitGroup, a *attack, _ []netip.Addr, _ int) {
	a.note("the re-dial flood needs Linux")
}
