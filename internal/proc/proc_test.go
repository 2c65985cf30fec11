package proc

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The test binary doubles as the child program: with childEnv set, TestMain
// runs child() instead of the tests; otherwise a goroutine that outlives the
// tests fails them (goleak).
const childEnv = "PROC_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode, os.Args[len(os.Args)-1]))
	}
	goleak.VerifyTestMain(m)
}

// child behaves as mode says, writing its address to addrFile:
// "serve" listens, logs, and exits 0 at SIGTERM; "stubborn" ignores SIGTERM;
// "fail" logs and exits 3 without listening; "garbage" writes a line that is
// no address; "silent" writes nothing. All but "fail" wait for a signal.
func child(mode, addrFile string) int {
	enc := json.NewEncoder(os.Stderr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	switch mode {
	case "fail":
		_ = enc.Encode(map[string]any{"msg": "cannot start", "why": "told to"})
		return 3
	case "garbage":
		_ = os.WriteFile(addrFile, []byte("not an address\n"), 0o644) // the parent fails either way
		<-sig
		return 0
	case "silent":
		<-sig
		return 0
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	fmt.Println("plain text on stdout")
	_ = enc.Encode(map[string]any{"msg": "listening", "addr": ln.Addr().String()})
	tmp := addrFile + ".tmp"
	if os.WriteFile(tmp, []byte(ln.Addr().String()+"\n"), 0o644) != nil || os.Rename(tmp, addrFile) != nil {
		return 1
	}
	for range sig {
		if mode != "stubborn" {
			_ = enc.Encode(map[string]any{"msg": "stopped", "summary": map[string]int{"served": 1}})
			return 0
		}
	}
	return 0
}

func start(t *testing.T, mode string, cfg Config) (*Process, error) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "addr")
	cfg.Argv = []string{exe, "-test.run=^$", f}
	cfg.Env = append(os.Environ(), childEnv+"="+mode)
	cfg.AddrFile = f
	p, err := Start(t.Context(), cfg)
	if p != nil {
		t.Cleanup(p.Kill)
	}
	return p, err
}

func TestStartWaitsForAddressAndStopsCleanly(t *testing.T) {
	p, err := start(t, "serve", Config{})
	require.NoError(t, err)
	require.True(t, p.Alive())
	c, err := net.Dial("tcp", p.Addr)
	require.NoError(t, err, "the address in the file is the one it listens on")
	c.Close()
	e, err := p.Logs.WaitFor("listening", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, p.Addr, e["addr"])

	require.NoError(t, p.Stop(time.Minute))
	assert.False(t, p.Alive())
	e, err = p.Logs.Find("stopped")
	require.NoError(t, err, "output is read to its end before Stop returns")
	assert.Equal(t, map[string]any{"served": float64(1)}, e["summary"])
	assert.Contains(t, p.Logs.String(), "plain text on stdout")
	_, err = p.Logs.WaitFor("never logged", time.Minute)
	require.ErrorContains(t, err, "exited without logging")
	require.ErrorContains(t, p.Stop(time.Minute), "had exited before it was stopped")
}

func TestStartFailsWhenTheProgramExits(t *testing.T) {
	p, err := start(t, "fail", Config{})
	require.Nil(t, p)
	require.ErrorContains(t, err, "exited before listening: exit status 3")
	require.ErrorContains(t, err, "cannot start", "the error carries the program's last output")
}

func TestStartRefusesAGarbledAddressFile(t *testing.T) {
	_, err := start(t, "garbage", Config{})
	require.ErrorContains(t, err, `holds "not an address\n"`)
}

func TestStartLimit(t *testing.T) {
	// A program that never writes the file: the limit ends the wait and
	// the program is killed.
	_, err := start(t, "silent", Config{StartLimit: 50 * time.Millisecond})
	require.ErrorContains(t, err, "within 50ms")

	exe, err := os.Executable()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Start(ctx, Config{
		Argv: []string{exe, "-test.run=^$", "unused"}, AddrFile: filepath.Join(t.TempDir(), "never"),
		Env: append(os.Environ(), childEnv+"=silent"),
	})
	require.ErrorIs(t, err, context.Canceled)
}

func TestStopKillsAStubbornProgram(t *testing.T) {
	p, err := start(t, "stubborn", Config{})
	require.NoError(t, err)
	err = p.Stop(100 * time.Millisecond)
	require.ErrorContains(t, err, "did not stop")
	assert.False(t, p.Alive())
	code, err := p.Wait(time.Minute)
	require.NoError(t, err)
	assert.Equal(t, -1, code, "ended by a signal")
}

func TestLifetime(t *testing.T) {
	p, err := start(t, "stubborn", Config{Lifetime: 100 * time.Millisecond})
	require.NoError(t, err)
	select {
	case <-p.Exited():
	case <-time.After(time.Minute):
		require.FailNow(t, "the lifetime did not end the program")
	}
	require.Error(t, p.Err())
}

func TestConfigNeedsArgvAndAddrFile(t *testing.T) {
	_, err := Start(t.Context(), Config{Argv: []string{"x"}})
	require.ErrorContains(t, err, "needs Argv and AddrFile")
}

func TestLogs(t *testing.T) {
	l := NewLogsMax(2)
	fmt.Fprint(l, `{"msg":"a","n":1}`+"\n"+`{"msg":"b"`)
	_, err := l.Find("b")
	require.Error(t, err, "half a line is not an entry yet")
	fmt.Fprint(l, "}\nnot json\n{broken\n")
	e, err := l.Find("b")
	require.NoError(t, err)
	assert.Equal(t, Entry{"msg": "b"}, e)
	fmt.Fprint(l, `{"msg":"c"}`+"\n")
	_, err = l.Find("c")
	require.ErrorContains(t, err, "1 more not kept")
	assert.Equal(t, "not json\n{broken\n"+`{"msg":"c"}`, l.Tail(3))

	// A line longer than maxLine is taken as text and does not grow the buffer.
	l = NewLogs()
	big := strings.Repeat("x", maxLine+1)
	fmt.Fprint(l, big)
	assert.Equal(t, big, l.Tail(1))
	fmt.Fprint(l, `{"msg":"after"}`+"\n")
	_, err = l.Find("after")
	require.NoError(t, err)

	// An unterminated last line counts once the program has exited.
	l = NewLogs()
	fmt.Fprint(l, `{"msg":"last"}`)
	l.close()
	_, err = l.WaitFor("last", time.Minute)
	require.NoError(t, err)
}

func TestWaitForLimit(t *testing.T) {
	l := NewLogs()
	_, err := l.WaitFor("x", 10*time.Millisecond)
	require.ErrorContains(t, err, "within 10ms")
}
