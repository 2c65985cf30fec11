// Package redistest starts a real Valkey or Redis server for tests: on a
// unix socket in the test's temporary directory (no TCP port to pick), with
// no persistence, stopped by PID at cleanup.
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
	URL    string // unix:///.../redis.sock
	Socket string
	cmd    *exec.Cmd
	out    *bytes.Buffer
}

// Start starts a server with extra configuration directives (e.g.
// "maxmemory-policy", "allkeys-lru") and waits until it accepts.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := ""
	for _, name := range []string{"valkey-server", "redis-server"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("no valkey-server or redis-server on PATH, and %s is set: install one (.ci/run does)", RequireEnv)
		}
		t.Skipf("no valkey-server or redis-server on PATH; install one, or set %s to make this a failure", RequireEnv)
	}
	// A unix socket's path is at most 107 bytes: a test runner's long
	// TMPDIR (Bazel's sandbox) falls back to /tmp.
	dir, err := os.MkdirTemp("", "redistest")
	if err == nil && len(dir) > 80 {
		os.RemoveAll(dir)
		dir, err = os.MkdirTemp("/tmp", "redistest")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "redis.sock")
	args := append([]string{"--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir, "--maxmemory-policy", "noeviction"}, extra...)
	s := &Server{URL: "unix://" + sock, Socket: sock, cmd: exec.Command(bin, args...), out: &bytes.Buffer{}}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }() // killed at cleanup: its exit status says nothing
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGCONT) // in case a test left it stopped
		s.cmd.Process.Kill()
		<-exited
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return s
		}
		select {
		case <-tick.C:
		case <-exited:
			t.Fatalf("%s exited: %s", bin, s.out)
		case <-ctx.Done():
			t.Fatalf("%s did not listen on %s within 30s: %s", bin, sock, s.out)
		}
	}
}

// Pause stops the server's process (SIGSTOP): it keeps its socket but
// answers nothing. Resume undoes it.
func (s *Server) Pause(t testing.TB) { s.signal(t, syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume(t testing.TB) { s.signal(t, syscall.SIGCONT) }

// Kill ends the server.
func (s *Server) Kill(t testing.TB) { s.signal(t, syscall.SIGKILL) }

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}
