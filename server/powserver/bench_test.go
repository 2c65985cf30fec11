package powserver

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/protocol"
)

// BenchmarkSession runs whole sessions over real loopback sockets, one at a
// time: dial, read the first line, answer it, read the reply, wait for the
// server to close. "powtcp" is the server at difficulty 0 with adaptive
// bits off; "bare" is a server that makes the same exchange with no logic
// (a goroutine per connection writes a challenge-sized line, reads a line,
// writes a quote-sized line and closes). Both run in this process with the
// same client, so allocs/op and B/op of powtcp less those of bare are the
// server's own per session. The client's solve at 0 bits is one hash.
func BenchmarkSession(b *testing.B) {
	b.Run("powtcp", func(b *testing.B) {
		cfg := DefaultConfig()
		cfg.Difficulty, cfg.MaxExtraBits = 0, -1
		srv, err := New(cfg, zap.NewNop(), nil)
		require.NoError(b, err)
		addr := serveBench(b, func(ctx context.Context, ln net.Listener) { _ = srv.Serve(ctx, ln) }) // ends with the benchmark
		b.Cleanup(func() { require.NoError(b, srv.Shutdown(context.Background())) })
		runSessions(b, addr, func(first string) string {
			ch, err := protocol.ParseChallenge(first)
			require.NoError(b, err)
			return "SOLUTION " + wrongwork.Solve(hashcash.SHA256, ch.Prefix, 0) + "\n"
		})
	})
	b.Run("bare", func(b *testing.B) {
		addr := serveBench(b, serveBareExchange)
		runSessions(b, addr, func(first string) string {
			ch, err := protocol.ParseChallenge(first)
			require.NoError(b, err)
			return "SOLUTION " + wrongwork.Solve(hashcash.SHA256, ch.Prefix, 0) + "\n"
		})
	})
}

// serveBench serves on 127.0.0.1:0 until the benchmark ends.
func serveBench(b *testing.B, serve func(context.Context, net.Listener)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { serve(ctx, ln) })
	b.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// benchChallenge is a challenge as long as the server's at 0 bits, which
// parses as one.
const benchChallenge = "POWTCP/1 CHALLENGE 1:0:261207000000:127.0.0.1@powtcp:sha256:Y3dzSWf0X0WbNrcNyYn4JYl3m1hZbuPTaaBcD4e5: 2000\n"

// serveBareExchange is the bare server of BenchmarkSession.
func serveBareExchange(ctx context.Context, ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Go(func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, benchChallenge); err != nil {
				return
			}
			if _, err := protocol.NewReader(c).ReadLine(); err == nil {
				_, _ = io.WriteString(c, "QUOTE Well done is better than well said. — Benjamin Franklin\n") // the client checks it
			}
		})
	}
}

// runSessions runs b.N sessions against addr, answering the first line
// with answer's line.
func runSessions(b *testing.B, addr string, answer func(first string) string) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.Dial("tcp", addr)
		require.NoError(b, err)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := protocol.NewReader(c)
		first, err := r.ReadLine()
		require.NoError(b, err)
		_, err = io.WriteString(c, answer(first))
		require.NoError(b, err)
		_, err = r.ReadLine()
		require.NoError(b, err)
		_, err = r.ReadLine()
		require.ErrorIs(b, err, io.EOF)
		c.Close()
	}
}
