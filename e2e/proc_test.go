package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/proc"
	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/quotes"
)

// Limits that keep a broken binary from hanging the test. They are far
// above what a healthy run takes, even with -race on two cores.
const (
	processLimit = 2 * time.Minute  // a server's whole life; it is killed after
	startLimit   = 30 * time.Second // from start to its address file
	stopLimit    = 30 * time.Second // from SIGTERM to exit
	clientLimit  = time.Minute      // one client run
	connLimit    = 30 * time.Second // one connection of the test's own
)

// difficulty is the servers' base difficulty: a few milliseconds of solving.
const difficulty = 10

// serverProc is a running server binary.
type serverProc struct {
	*proc.Process
	addr string
	logs *proc.Logs
}

// startServer starts the server on 127.0.0.1:0 with JSON debug logs,
// difficulty 10 and adaptive difficulty off, then extra flags (later flags
// win), and waits until it listens. The server is killed at cleanup.
func startServer(t *testing.T, extra ...string) *serverProc {
	t.Helper()
	return startServerUnder(t, nil, extra...)
}

// startServerUnder is startServer with the binary run by a wrapper command
// (e.g. sh -c 'ulimit -n 256; exec "$@"' sh), which must exec it.
func startServerUnder(t *testing.T, wrapper []string, extra ...string) *serverProc {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	args := append([]string{
		"-addr", "127.0.0.1:0", "-addr-file", addrFile,
		"-log-format", "json", "-log-level", "debug",
		"-difficulty", fmt.Sprint(difficulty), "-max-extra-bits", "-1",
		"-shutdown-timeout", "20s",
	}, extra...)
	p, err := proc.Start(t.Context(), proc.Config{
		Argv:       append(append(slices.Clone(wrapper), bins.server), args...),
		Env:        cleanEnv(),
		AddrFile:   addrFile,
		StartLimit: startLimit,
		Lifetime:   processLimit,
	})
	require.NoError(t, err, "start server %s", strings.Join(args, " "))
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("server %s log:\n%s", strings.Join(args, " "), p.Logs)
		}
	})
	return &serverProc{Process: p, addr: p.Addr, logs: p.Logs}
}

// signal sends sig to the server.
func (p *serverProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	require.NoError(t, p.Signal(sig))
}

// wait waits for the server to exit and returns its exit code.
func (p *serverProc) wait(t *testing.T) int {
	t.Helper()
	code, err := p.Wait(stopLimit)
	require.NoError(t, err, "wait for server")
	return code
}

// stop sends SIGTERM, requires exit code 0 and returns the summary that
// the server logs last: connections by outcome.
func (p *serverProc) stop(t *testing.T) map[string]int {
	t.Helper()
	p.signal(t, syscall.SIGTERM)
	require.Equal(t, 0, p.wait(t), "server exit code")
	e, err := p.logs.Find("stopped")
	require.NoError(t, err)
	raw, ok := e["summary"].(map[string]any)
	require.True(t, ok, "summary in %v", e)
	sum := map[string]int{}
	for k, v := range raw {
		f, ok := v.(float64)
		require.True(t, ok, "summary[%q] = %v", k, v)
		sum[k] = int(f)
	}
	return sum
}

// cleanEnv is the test's environment without the server's and the
// client's settings, so that a developer's shell cannot change the test.
// Binaries built with -race would sleep a second at exit; the test makes
// that 50ms unless GORACE says otherwise.
func cleanEnv() []string {
	env := []string{"GORACE=atexit_sleep_ms=50"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "POW"), strings.HasPrefix(k, "LOG_"),
			k == "HOST", k == "PORT", k == "QUOTES_FILE", k == "PPROF_ENABLED":
			continue
		case k == "GORACE":
			env = env[1:]
		}
		env = append(env, kv)
	}
	return env
}

// runClient runs the client binary and returns its exit code and output.
func runClient(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runBinary(t, append([]string{bins.client}, args...))
}

// runServer runs the server binary under wrapper (see startServerUnder) to
// its end, for settings it refuses at start.
func runServer(t *testing.T, wrapper []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runBinary(t, append(append(slices.Clone(wrapper), bins.server), args...))
}

// runBinary runs argv to its end and returns its exit code and output.
func runBinary(t *testing.T, argv []string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = cleanEnv()
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "%q did not finish; stderr:\n%s", argv, errOut.String())
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		require.NoError(t, err, "run %s", argv[0])
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// clientReport is one line of the client's -json output.
type clientReport struct {
	Session  int     `json:"session"`
	Quote    string  `json:"quote"`
	Alg      string  `json:"alg"`
	Bits     int     `json:"bits"`
	Attempts uint64  `json:"attempts"`
	HashRate float64 `json:"hash_rate"`
	Error    string  `json:"error"`
}

// fetchReports runs the client for n sessions against addr with -json and
// returns its n reports, each checked to be a success with a quote of the
// collection.
func fetchReports(t *testing.T, addr string, n int) []clientReport {
	t.Helper()
	code, stdout, stderr := runClient(t, "-addr", addr, "-timeout", "30s", "-json", "-n", strconv.Itoa(n))
	require.Equal(t, 0, code, "exit code; stderr:\n%s", stderr)
	known := knownQuotes()
	dec := json.NewDecoder(strings.NewReader(stdout))
	reps := make([]clientReport, n)
	for i := range reps {
		require.NoError(t, dec.Decode(&reps[i]), "report %d of:\n%s", i, stdout)
		assert.Empty(t, reps[i].Error)
		assert.True(t, known[reps[i].Quote], "%q is not a quote of the collection", reps[i].Quote)
	}
	assert.False(t, dec.More(), "more than %d reports:\n%s", n, stdout)
	return reps
}

// knownQuotes is the set of the default collection's quotes as the client
// prints them.
func knownQuotes() map[string]bool {
	known := map[string]bool{}
	for _, q := range quotes.Default().All() {
		known[q.String()] = true
	}
	return known
}

// conn is a protocol connection of the test's own.
type conn struct {
	net.Conn
	r *protocol.Reader
}

// dial connects to addr from 127.0.0.1, or from localIP when set (Linux
// routes all of 127.0.0.0/8 to the loopback interface). The connection
// closes at cleanup.
func dial(t *testing.T, addr, localIP string) *conn {
	t.Helper()
	d := net.Dialer{Timeout: connLimit}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err, "dial %s", addr)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(connLimit)))
	return &conn{Conn: c, r: protocol.NewReader(c)}
}

// challenge reads the server's first line, which must be a challenge.
func (c *conn) challenge(t *testing.T) protocol.Challenge {
	t.Helper()
	ch, err := c.r.ReadChallenge()
	require.NoError(t, err, "read challenge")
	return ch
}

// send writes raw bytes.
func (c *conn) send(t *testing.T, b []byte) {
	t.Helper()
	_, err := c.Write(b)
	require.NoError(t, err, "send %.40q", b)
}

// answer sends stamp as the solution and returns the server's reply.
func (c *conn) answer(t *testing.T, stamp string) (protocol.Quote, error) {
	t.Helper()
	require.NoError(t, protocol.Write(c, protocol.Solution{Stamp: stamp}), "send solution")
	return c.r.ReadReply()
}

// requireRefused checks that err is the server's ERROR line with code want.
func requireRefused(t *testing.T, err error, want protocol.Code) {
	t.Helper()
	var perr *protocol.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, want, perr.Code, "reason: %s", perr.Reason)
}

// requireClosed checks that the server has closed the connection: a read
// finds its end (or a reset, when the server closed with our bytes unread).
func (c *conn) requireClosed(t *testing.T) {
	t.Helper()
	l, err := c.r.ReadLine()
	require.Error(t, err, "server sent %q after its reply", l)
	if !errors.Is(err, syscall.ECONNRESET) {
		require.ErrorIs(t, err, io.EOF)
	}
}

// solve solves a challenge honestly.
func solve(t *testing.T, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connLimit)
	defer cancel()
	res, err := hashcash.Solve(ctx, prefix, hashcash.SolveOptions{})
	require.NoError(t, err, "solve %s", prefix)
	return res.Stamp
}
