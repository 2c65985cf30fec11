package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
)

// TestMain fails the package's tests when a goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-addr", "127.0.0.1:1", "-n", "3", "-c", "2", "-mode", "forged", "-json"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{Addr: "127.0.0.1:1", N: 3, C: 2, Timeout: time.Minute, JSON: true, Mode: 2}, c)

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n 0"},
		{[]string{"-c", "0"}, "-c 0"},
		{[]string{"-workers", "-1"}, "-workers -1"},
		{[]string{"-timeout", "0s"}, "-timeout 0s"},
		{[]string{"-mode", "evil"}, `-mode "evil"`},
		{[]string{"stray"}, "unexpected arguments"},
	} {
		_, err := parseFlags(tt.args, io.Discard)
		require.Error(t, err, "%v", tt.args)
		assert.Contains(t, err.Error(), tt.want)
	}
}

// server answers every connection with a solvable challenge and, for a
// valid solution, a quote.
func server(t *testing.T) string {
	t.Helper()
	return serveEach(t, func(int, net.Conn) bool { return true })
}

// serveEach runs a server that, for the i-th connection (from 0), holds it
// silent until the client hangs up unless answer(i, conn) says to serve it:
// a solvable challenge and, for a valid solution, a quote.
func serveEach(t *testing.T, answer func(i int, conn net.Conn) bool) string {
	t.Helper()
	m, err := hashcash.NewMinter(hashcash.MinterConfig{Key: []byte("0123456789abcdef"), TTL: time.Minute})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if !answer(i, conn) {
				_, _ = io.Copy(io.Discard, conn) // until the client closes
				conn.Close()
				continue
			}
			protocol.Write(conn, protocol.Challenge{Prefix: m.Challenge(6, "t"), Window: 5 * time.Second})
			if sol, err := protocol.NewReader(conn).ReadSolution(); err == nil {
				if _, _, err := m.Verify(sol.Stamp, "t"); err != nil {
					protocol.Write(conn, &protocol.Error{Code: protocol.CodeBadSolution, Reason: "no"})
				} else {
					protocol.Write(conn, protocol.Quote{Text: "Know thyself. — Proverb"})
				}
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestRun(t *testing.T) {
	addr := server(t)
	var out, errOut bytes.Buffer
	failed := run(context.Background(), config{Addr: addr, N: 4, C: 2, Workers: 1, Timeout: 10 * time.Second, Verbose: true}, &out, &errOut)
	assert.Zero(t, failed, errOut.String())
	assert.Equal(t, strings.Repeat("Know thyself. — Proverb\n", 4), out.String())
	assert.Contains(t, errOut.String(), "4 sessions: served=4")
	assert.Contains(t, errOut.String(), "MH/s")

	out.Reset()
	errOut.Reset()
	failed = run(context.Background(), config{Addr: addr, N: 2, C: 1, Timeout: 10 * time.Second, JSON: true, Mode: 1}, &out, &errOut)
	assert.Equal(t, 2, failed)
	var rep report
	require.NoError(t, json.NewDecoder(&out).Decode(&rep))
	assert.Equal(t, "bad-solution", rep.Code)
	assert.Equal(t, 6, rep.Bits)
	assert.Contains(t, errOut.String(), "2 sessions: bad-solution=2")
}

// cancelWriter cancels a context on its first write.
type cancelWriter struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.cancel()
	return w.Buffer.Write(p)
}

// A run cancelled mid-way counts every session it did not serve as failed,
// the one under way and those never started. Under go test -race this
// caught the count being written outside the workers' lock: the second
// worker's session fails (cancelled) while the feeder counts the rest.
func TestRunCancelled(t *testing.T) {
	addr := serveEach(t, func(i int, _ net.Conn) bool { return i == 0 }) // later ones stay silent
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelWriter{cancel: cancel}
	var errOut bytes.Buffer
	failed := run(ctx, config{Addr: addr, N: 20, C: 2, Workers: 1, Timeout: 10 * time.Second}, out, &errOut)
	assert.Equal(t, 19, failed, errOut.String())
	assert.Equal(t, "Know thyself. — Proverb\n", out.String())
}
