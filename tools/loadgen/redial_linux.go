package main

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/powtcp/powtcp/protocol"
)

// The re-dial flood drives its sockets itself: non-blocking sockets and an
// epoll set per worker goroutine, with no goroutine, deadline or netpoller
// registration per connection. With a Go connection per socket the flood
// cost this process about 150 µs of CPU a connection, twice what it costs
// now and three times what the refusal costs the server, and stayed near
// 8,000 connections a second beside the server on 2 cores; the issue it
// reproduces needs 10,000 (BENCHMARKS.md).

// redialInFlight bounds the flood's sockets between connect and the
// server's first line, so that the listen backlog does not overflow.
const redialInFlight = 256

// redial holds n sockets from ips, never answering, as slowloris does, but
// over the per-address cap: each socket the server refuses or closes is
// dialled again after about 300 ms (jittered), so a few addresses make
// thousands of connections a second that never solve. Honest clients'
// price must not move (the load follows redeemed proofs only).
func redial(ctx context.Context, wg *sync.WaitGroup, a *attack, ips []netip.Addr, n int) {
	a.expect["redial"] = []string{"too-slow", "busy"}
	dst, err := netip.ParseAddrPort(a.addr)
	if err != nil || !dst.Addr().Is4() {
		a.note(fmt.Sprintf("the re-dial flood needs an IPv4 address and port, not %q", a.addr))
		return
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), n))
	for w := range workers {
		var slots []netip.Addr // each socket's source address
		for i := w; i < n; i += workers {
			slots = append(slots, ips[i%len(ips)])
		}
		wg.Go(func() {
			if err := runRedialer(ctx, a, dst, slots, redialInFlight/workers); err != nil && ctx.Err() == nil {
				a.note("re-dial flood: " + err.Error())
			}
		})
	}
}

// redialSocket is one of the flood's sockets.
type redialSocket struct {
	src      netip.Addr
	fd       int    // -1 between connections
	answered bool   // its challenge came: it is held, not in flight
	counted  bool   // its connection was counted in attack.conns
	gen      int32  // its connections so far: an event names the one it is for
	buf      []byte // what the server sent, up to maxRedialRead
}

// maxRedialRead is what a flood socket keeps of the server's lines: a
// challenge and the ERROR line after it.
const maxRedialRead = 2 * protocol.MaxLineLen

// redialer is one worker of the flood: its sockets, their epoll set, and
// when each closed socket dials again.
type redialer struct {
	a        *attack
	dst      syscall.SockaddrInet4
	epfd     int
	socks    []redialSocket
	due      dueHeap // closed sockets, by when they dial again
	inFlight int     // sockets waiting for the server's first line
	maxIn    int
}

func runRedialer(ctx context.Context, a *attack, dst netip.AddrPort, srcs []netip.Addr, maxIn int) error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll: %w", err)
	}
	r := &redialer{a: a, dst: syscall.SockaddrInet4{Port: int(dst.Port()), Addr: dst.Addr().As4()}, epfd: epfd,
		maxIn: max(1, maxIn)}
	now := time.Now()
	for i, src := range srcs {
		r.socks = append(r.socks, redialSocket{src: src, fd: -1})
		r.due = append(r.due, dueAt{at: now, sock: i})
	}
	defer func() {
		for i := range r.socks {
			if fd := r.socks[i].fd; fd >= 0 {
				syscall.Close(fd)
			}
		}
		syscall.Close(epfd)
	}()
	events := make([]syscall.EpollEvent, 256)
	for ctx.Err() == nil {
		now := time.Now()
		for len(r.due) > 0 && r.inFlight < r.maxIn && !r.due[0].at.After(now) {
			r.dial(heap.Pop(&r.due).(dueAt).sock)
		}
		wait := 50 * time.Millisecond // at most, to see ctx
		if len(r.due) > 0 && r.inFlight < r.maxIn {
			wait = min(wait, max(time.Millisecond, r.due[0].at.Sub(now)))
		}
		k, err := syscall.EpollWait(epfd, events, int((wait+time.Millisecond-1)/time.Millisecond))
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return fmt.Errorf("epoll_wait: %w", err)
		}
		for _, ev := range events[:k] {
			// An event may be for a connection already closed: while a
			// child process is being started, it shares every socket
			// until its exec, so a close leaves the registration in
			// the epoll set until then.
			if s := &r.socks[ev.Fd]; s.fd >= 0 && s.gen == ev.Pad {
				r.readable(int(ev.Fd))
			}
		}
	}
	return nil
}

// dial starts socket i's next connection; a dial that fails at once is
// counted and retried after the usual pause.
func (r *redialer) dial(i int) {
	s := &r.socks[i]
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err == nil {
		// Best effort, as in dialer: the port is picked at connect time.
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
		err = syscall.Bind(fd, &syscall.SockaddrInet4{Addr: s.src.As4()})
		if err == nil {
			err = syscall.Connect(fd, &r.dst)
			if errors.Is(err, syscall.EINPROGRESS) {
				err = nil
			}
		}
		if err == nil {
			err = syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd,
				// The event's data is the socket's index and connection.
				&syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(i), Pad: s.gen + 1})
		}
		if err != nil {
			syscall.Close(fd)
		}
	}
	if err != nil {
		r.dialFailed(err)
		r.later(i)
		return
	}
	s.fd, s.answered, s.counted, s.buf = fd, false, false, s.buf[:0]
	s.gen++
	r.inFlight++
}

// readable reads what socket i has, and closes it once the server refused
// it or gave up on it.
func (r *redialer) readable(i int) {
	s := &r.socks[i]
	var tmp [512]byte
	for {
		k, err := syscall.Read(s.fd, tmp[:])
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil && !s.answered && len(s.buf) == 0 && !errors.Is(err, syscall.ECONNRESET):
			r.dialFailed(err) // refused or timed out: never connected
			r.finish(i, "")
			return
		}
		if !s.counted {
			s.counted = true
			r.a.conns.Add(1) // it connected: the server accepted it
		}
		switch {
		case err != nil:
			r.finish(i, classifyLine("", err))
			return
		case k == 0:
			r.finish(i, classifyLine("", io.EOF))
			return
		}
		s.buf = append(s.buf, tmp[:k]...)
		for {
			nl := bytes.IndexByte(s.buf, '\n')
			if nl < 0 {
				if len(s.buf) > maxRedialRead {
					r.finish(i, classifyLine("", protocol.ErrLineTooLong))
					return
				}
				break
			}
			l := string(s.buf[:nl])
			s.buf = s.buf[:copy(s.buf, s.buf[nl+1:])]
			if !s.answered {
				if _, err := protocol.ParseChallenge(l); err == nil {
					s.answered = true // held until the server gives up on it
					r.inFlight--
					continue
				}
			}
			r.finish(i, classifyLine(l, nil))
			return
		}
	}
}

// finish counts socket i's outcome (none when reply is empty), closes it
// and schedules its next dial.
func (r *redialer) finish(i int, reply string) {
	s := &r.socks[i]
	if reply != "" {
		if !s.answered {
			reply = "open-" + reply // refused before its challenge
		}
		r.a.reply("redial", reply)
	}
	if !s.answered {
		r.inFlight--
	}
	syscall.Close(s.fd) // also leaves the epoll set
	s.fd = -1
	r.later(i)
}

// later schedules socket i's next dial about 300 ms from now.
func (r *redialer) later(i int) {
	heap.Push(&r.due, dueAt{at: time.Now().Add(jitter(300 * time.Millisecond)), sock: i})
}

func (r *redialer) dialFailed(err error) {
	r.a.dialErrors.Add(1)
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		r.a.note("dial: out of source ports (EADDRNOTAVAIL)")
	}
}

// dueAt is when a closed socket dials again.
type dueAt struct {
	at   time.Time
	sock int
}

// dueHeap is a min-heap of dueAt by time (container/heap).
type dueHeap []dueAt

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueAt)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
