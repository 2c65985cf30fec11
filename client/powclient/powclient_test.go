package powclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/wrongwork"
	"github.com/powtcp/powtcp/protocol"
)

// fakeServer answers each connection with handle, from a goroutine the test owns.
func fakeServer(t *testing.T, handle func(conn net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			handle(conn)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// verifying is a minimal correct server: challenge, verify, quote or error.
func verifying(t *testing.T, bits int, window time.Duration) func(net.Conn) {
	m, err := hashcash.NewMinter(hashcash.MinterConfig{Key: []byte("0123456789abcdef"), TTL: time.Minute})
	require.NoError(t, err)
	return func(conn net.Conn) {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if protocol.Write(conn, protocol.Challenge{Prefix: m.Challenge(bits, "test"), Window: window}) != nil {
			return
		}
		sol, err := protocol.NewReader(conn).ReadSolution()
		if err != nil {
			return
		}
		if _, _, err := m.Verify(sol.Stamp, "test"); err != nil {
			code := protocol.CodeForged
			if errors.Is(err, hashcash.ErrBits) {
				code = protocol.CodeBadSolution
			}
			protocol.Write(conn, &protocol.Error{Code: code, Reason: err.Error()})
			return
		}
		protocol.Write(conn, protocol.Quote{Text: "Know thyself. — Proverb"})
	}
}

func TestFetch(t *testing.T) {
	tests := []struct {
		name     string
		bits     int
		mode     wrongwork.Mode
		wantCode protocol.Code
	}{
		{"honest", 10, wrongwork.Honest, ""},
		{"honest at difficulty 0", 0, wrongwork.Honest, ""},
		{"short work", 10, wrongwork.ShortWork, protocol.CodeBadSolution},
		{"short work at difficulty 0 forges", 0, wrongwork.ShortWork, protocol.CodeForged},
		{"forged", 10, wrongwork.Forged, protocol.CodeForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, verifying(t, tt.bits, 5*time.Second))
			res, err := Fetch(context.Background(), addr, Options{Workers: 1, Tamper: tt.mode.Tamper()})
			if tt.wantCode != "" {
				var perr *protocol.Error
				require.ErrorAs(t, err, &perr)
				assert.Equal(t, tt.wantCode, perr.Code)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "Know thyself. — Proverb", res.Quote)
			assert.Equal(t, tt.bits, res.Bits)
			assert.GreaterOrEqual(t, hashcash.ZeroBits(hashcash.SHA256, res.Solve.Stamp), tt.bits)
			assert.Positive(t, res.Solve.Attempts)
		})
	}
}

func TestFetchRefusedAtChallenge(t *testing.T) {
	addr := fakeServer(t, func(conn net.Conn) {
		protocol.Write(conn, &protocol.Error{Code: protocol.CodeBusy, Reason: "server at capacity"})
	})
	_, err := Fetch(context.Background(), addr, Options{})
	var perr *protocol.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, protocol.CodeBusy, perr.Code)
}

func TestFetchBadChallenge(t *testing.T) {
	tests := []struct {
		name string
		line string
		want error
	}{
		{"not powtcp", "SSH-2.0-OpenSSH_9.2\n", protocol.ErrMalformed},
		{"other version", "POWTCP/9 CHALLENGE x 1000\n", protocol.ErrVersion},
		{"bad prefix", "POWTCP/1 CHALLENGE 1:8:x 1000\n", ErrNoChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, func(conn net.Conn) {
				_, _ = conn.Write([]byte(tt.line))
				_, _ = protocol.NewReader(conn).ReadLine()
			})
			_, err := Fetch(context.Background(), addr, Options{Workers: 1})
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

// A server that never answers is cut off by the caller's context.
func TestFetchContext(t *testing.T) {
	release := make(chan struct{})
	addr := fakeServer(t, func(conn net.Conn) { <-release })
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Fetch(ctx, addr, Options{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// A solve that outlasts the window closes the first connection and
// presents the stamp on a second one, which the server takes (a challenge
// is good on any connection of the same client within its lifetime);
// within the window it stays one connection, one round trip.
func TestFetchReconnectsAfterWindow(t *testing.T) {
	for _, tt := range []struct {
		name   string
		bits   int
		window time.Duration
		conns  int32
	}{
		{"in time", 4, 10 * time.Second, 1},
		{"window outlasted", 4, time.Millisecond, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var conns atomic.Int32
			serve := verifying(t, tt.bits, tt.window)
			addr := fakeServer(t, func(conn net.Conn) {
				conns.Add(1)
				serve(conn)
			})
			res, err := Fetch(context.Background(), addr, Options{Workers: 1, Solve: slowSolve})
			require.NoError(t, err)
			assert.Equal(t, tt.conns == 2, res.Reconnected)
			assert.Equal(t, "Know thyself. — Proverb", res.Quote)
			assert.Equal(t, tt.conns, conns.Load())
		})
	}
}

// slowSolve is hashcash.Solve that takes at least 20 ms: longer than a
// window of a millisecond, however lucky the search.
func slowSolve(ctx context.Context, prefix string, opts hashcash.SolveOptions) (hashcash.Result, error) {
	time.Sleep(20 * time.Millisecond)
	return hashcash.Solve(ctx, prefix, opts)
}

// A refusal on the second connection is the result's error: the stamp was
// not taken.
func TestFetchReconnectRefused(t *testing.T) {
	var conns atomic.Int32
	serve := verifying(t, 4, time.Millisecond)
	addr := fakeServer(t, func(conn net.Conn) {
		if conns.Add(1) == 1 {
			serve(conn)
			return
		}
		protocol.Write(conn, &protocol.Error{Code: protocol.CodeBusy, Reason: "server at capacity"})
	})
	res, err := Fetch(context.Background(), addr, Options{Workers: 1, Solve: slowSolve})
	var perr *protocol.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, protocol.CodeBusy, perr.Code)
	assert.True(t, res.Reconnected)
	assert.Empty(t, res.Quote)
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&protocol.Error{Code: protocol.CodeBusy, Reason: "full"}, "busy"},
		{fmt.Errorf("%w: bad", ErrNoChallenge), "no-challenge"},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), "timeout"},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout"},
		{context.Canceled, "canceled"},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "dial"},
		{io.ErrUnexpectedEOF, "closed"},
		{errors.New("something else"), "error"},
	} {
		assert.Equal(t, tt.want, Classify(tt.err), "%v", tt.err)
	}
}
