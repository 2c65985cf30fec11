// Package redistest starts a real Valkey or Redis server for tests: on a
// unix socket in the test's temporary directory (no TCP port to pick), with
// no persistence, stopped by PID at cleanup; or a Sentinel set on TCP on
// 127.0.0.1 (StartSentinelSet), to kill its primary.
//
// A machine without valkey-server or redis-server on PATH skips the test
// with a message, unless POWTCP_REQUIRE_REDIS is set (CI sets it), which
// turns the skip into a failure: a missing install step cannot hide.
package redistest

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the variable that makes a missing server a failure.
const RequireEnv = "POWTCP_REQUIRE_REDIS"

// Server is a running valkey-server or redis-server.
type Server struct {
	URL    string // unix:///.../redis.sock, or redis://127.0.0.1:port/0 on TCP
	Socket string // the unix socket, "" on TCP
	Addr   string // 127.0.0.1:port on TCP, "" on a unix socket
	cmd    *exec.Cmd
	out    *bytes.Buffer
	exited chan struct{}
}

// Start starts a server with extra configuration directives (e.g.
// "maxmemory-policy", "allkeys-lru") and waits until it accepts.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := serverBin(t)
	dir := tempDir(t)
	sock := filepath.Join(dir, "redis.sock")
	args := append([]string{"--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir, "--maxmemory-policy", "noeviction"}, extra...)
	s := start(t, bin, args, "unix", sock)
	s.URL, s.Socket = "unix://"+sock, sock
	return s
}

// serverBin is the path of valkey-server or redis-server; it skips or
// fails the test when there is neither.
func serverBin(t testing.TB) string {
	t.Helper()
	bin := lookPath("valkey-server", "redis-server")
	if bin == "" {
		missing(t, "valkey-server or redis-server")
	}
	return bin
}

// lookPath is the path of the first of names on PATH, "" for none.
func lookPath(names ...string) string {
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// missing skips the test, or fails it when RequireEnv is set.
func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("no %s on PATH, and %s is set: install one (.ci/run does)", what, RequireEnv)
	}
	t.Skipf("no %s on PATH; install one, or set %s to make this a failure", what, RequireEnv)
}

// tempDir is a directory removed at cleanup, short enough for a unix
// socket's path (at most 107 bytes): a test runner's long TMPDIR
// (Bazel's sandbox) falls back to /tmp.
func tempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "redistest")
	if err == nil && len(dir) > 80 {
		os.RemoveAll(dir)
		dir, err = os.MkdirTemp("/tmp", "redistest")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// start runs bin with args, kills it by PID at cleanup, and waits until
// it accepts on network, addr.
func start(t testing.TB, bin string, args []string, network, addr string) *Server {
	t.Helper()
	s := &Server{cmd: exec.Command(bin, args...), out: &bytes.Buffer{}, exited: make(chan struct{})}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }() // killed at cleanup: its exit status says nothing
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGCONT) // in case a test left it stopped
		s.cmd.Process.Kill()
		<-s.exited
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.Dial(network, addr); err == nil {
			c.Close()
			return s
		}
		select {
		case <-tick.C:
		case <-s.exited:
			t.Fatalf("%s exited: %s", bin, s.out)
		case <-ctx.Done():
			t.Fatalf("%s did not listen on %s within 30s: %s", bin, addr, s.out)
		}
	}
}

// Pause stops the server's process (SIGSTOP): it keeps its socket but
// answers nothing. Resume undoes it.
func (s *Server) Pause(t testing.TB) { s.signal(t, syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume(t testing.TB) { s.signal(t, syscall.SIGCONT) }

// Kill ends the server (SIGKILL) and waits until it has exited.
func (s *Server) Kill(t testing.TB) {
	s.signal(t, syscall.SIGKILL)
	<-s.exited
}

// PID is the server's process ID.
func (s *Server) PID() int { return s.cmd.Process.Pid }

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}
