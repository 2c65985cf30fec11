package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The gate between real clients and real services that nobody here wrote:
// OpenSSH's ssh through `client -stdio` as its ProxyCommand, to a
// throwaway sshd; redis-cli through `client -listen`, to a redis-server.
// Each program is found on PATH (or /usr/sbin for sshd); a missing one
// skips the test, unless POWTCP_REQUIRE_GATE_PEERS is set (CI sets it),
// which makes it a failure.

// requirePeersEnv makes a missing real program a failure.
const requirePeersEnv = "POWTCP_REQUIRE_GATE_PEERS"

// lookProgram finds name on PATH or in dirs.
func lookProgram(t *testing.T, name string, dirs ...string) string {
	t.Helper()
	return lookAny(t, []string{name}, dirs...)
}

// lookAny finds the first of names on PATH or in dirs.
func lookAny(t *testing.T, names []string, dirs ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range dirs {
			if p := filepath.Join(d, name); isExecutable(p) {
				return p
			}
		}
	}
	if os.Getenv(requirePeersEnv) != "" {
		t.Fatalf("none of %s found, and %s is set: install one (.ci/run does)", strings.Join(names, ", "), requirePeersEnv)
	}
	t.Skipf("none of %s found; install one, or set %s to make this a failure", strings.Join(names, ", "), requirePeersEnv)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// freePort returns a loopback port that was free a moment ago, for
// programs that cannot report the port they bound.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProgram starts argv, killed at cleanup, and waits until addr
// accepts connections.
func startProgram(t *testing.T, addr string, argv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), processLimit)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start(), "start %s", argv[0])
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // killed at cleanup: its error says so
		close(exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	deadline := time.Now().Add(startLimit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before it listened on %s:\n%s", argv[0], addr, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if !time.Now().Before(deadline) {
			// Its output is read once it has exited: a read while it
			// still writes is a data race (a message argument is
			// evaluated on every pass, failing or not).
			cancel()
			<-exited
			t.Fatalf("%s never listened on %s:\n%s", argv[0], addr, out.String())
		}
	}
}

// sshd is a throwaway OpenSSH server on 127.0.0.1, with its own host key,
// configuration and authorized key in a temporary directory; it lets in
// the current user with key, and nothing else.
type sshd struct {
	addr string
	key  string // the client's private key file
	user string
	dir  string
}

func startSSHD(t *testing.T) *sshd {
	t.Helper()
	bin := lookProgram(t, "sshd", "/usr/sbin")
	keygen := lookProgram(t, "ssh-keygen")
	dir := t.TempDir()
	for _, k := range []string{"host", "user"} {
		out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput()
		require.NoError(t, err, "ssh-keygen: %s", out)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "user.pub"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600))
	if _, err := os.Stat("/run/sshd"); err != nil && os.Geteuid() == 0 {
		// sshd run by root insists on its privilege separation directory
		// (the offline Bazel's chroot has it from its set-up).
		require.NoError(t, os.MkdirAll("/run/sshd", 0o755))
	}
	port := freePort(t)
	config := strings.Join([]string{
		"ListenAddress 127.0.0.1:" + strconv.Itoa(port),
		"HostKey " + filepath.Join(dir, "host"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password", "PubkeyAuthentication yes",
	}, "\n") + "\n"
	cfgFile := filepath.Join(dir, "sshd_config")
	require.NoError(t, os.WriteFile(cfgFile, []byte(config), 0o600))
	addr := "127.0.0.1:" + strconv.Itoa(port)
	startProgram(t, addr, bin, "-D", "-e", "-f", cfgFile)
	u := os.Getenv("USER")
	if u == "" {
		out, err := exec.Command("id", "-un").Output()
		require.NoError(t, err)
		u = strings.TrimSpace(string(out))
	}
	return &sshd{addr: addr, key: filepath.Join(dir, "user"), user: u, dir: dir}
}

// ssh runs OpenSSH's ssh against gate with the client binary as its
// ProxyCommand, the remote command cmd, stdin in.
func (s *sshd) ssh(t *testing.T, gate string, in []byte, cmd string) (stdout []byte, stderr string, err error) {
	t.Helper()
	bin := lookProgram(t, "ssh")
	host, port, _ := net.SplitHostPort(gate)
	ctx, cancel := context.WithTimeout(context.Background(), clientLimit)
	defer cancel()
	c := exec.CommandContext(ctx, bin, "-F", "/dev/null", "-i", s.key, "-p", port,
		"-o", "ProxyCommand="+bins.client+" -addr %h:%p -stdio -timeout 30s",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", s.user+"@"+host, cmd)
	c.Env = cleanEnv()
	c.Stdin = bytes.NewReader(in)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err = c.Run()
	return out.Bytes(), errOut.String(), err
}

// TestGateSSH: the real ssh reaches a real sshd through the gate, runs a
// command, and moves 10 MB each way byte for byte (the upload ends with
// stdin's EOF: the half-close crosses the gate).
func TestGateSSH(t *testing.T) {
	d := startSSHD(t)
	g := startServer(t, "-upstream", d.addr, "-upstream-name", "ssh", "-difficulty", "8")

	out, stderr, err := d.ssh(t, g.addr, nil, "echo hello through the gate")
	require.NoError(t, err, "ssh: %s", stderr)
	assert.Equal(t, "hello through the gate\n", string(out))

	payload := make([]byte, 10<<20)
	rand.Read(payload)
	up := filepath.Join(d.dir, "up.bin")
	_, stderr, err = d.ssh(t, g.addr, payload, "cat > "+up)
	require.NoError(t, err, "ssh upload: %s", stderr)
	got, err := os.ReadFile(up)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(payload, got), "upload of %d bytes arrived as %d, identical: %v", len(payload), len(got), bytes.Equal(payload, got))

	out, stderr, err = d.ssh(t, g.addr, nil, "cat "+up)
	require.NoError(t, err, "ssh download: %s", stderr)
	assert.True(t, bytes.Equal(payload, out), "download of %d bytes arrived as %d", len(payload), len(out))

	sum := g.stop(t)
	assert.Equal(t, 3, sum["served"], "three proofs, three tunnels: %v", sum)
}

// TestGateRedis: redis-cli through `client -listen`: PING, SET, GET.
func TestGateRedis(t *testing.T) {
	server := lookAny(t, []string{"valkey-server", "redis-server"})
	cli := lookAny(t, []string{"valkey-cli", "redis-cli"})
	redisAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	_, rport, _ := net.SplitHostPort(redisAddr)
	startProgram(t, redisAddr, server, "--port", rport, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	g := startServer(t, "-upstream", redisAddr, "-upstream-name", "redis", "-difficulty", "8")

	local := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startProgram(t, local, bins.client, "-addr", g.addr, "-listen", local, "-v")
	_, lport, _ := net.SplitHostPort(local)
	for _, tt := range []struct{ args, want string }{
		{"PING", "PONG"}, {"SET powtcp gate", "OK"}, {"GET powtcp", "gate"},
	} {
		out, err := exec.Command(cli, append([]string{"-h", "127.0.0.1", "-p", lport}, strings.Fields(tt.args)...)...).CombinedOutput()
		require.NoError(t, err, "%s: %s", tt.args, out)
		assert.Equal(t, tt.want, strings.TrimSpace(string(out)), tt.args)
	}
}

// TestGateInvalidFlows: a wrong proof and an upstream that is down get
// their error lines and exit code 1 from `client -stdio`, and the upstream
// never sees the wrong proof's connection.
func TestGateInvalidFlows(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	g := startServer(t, "-upstream", ln.Addr().String(), "-difficulty", "8")
	code, _, stderr := runClient(t, "-addr", g.addr, "-stdio", "-mode", "forged")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "forged")
	assert.Zero(t, accepted.Load(), "the upstream saw the forged proof's connection")

	down := startServer(t, "-upstream", "127.0.0.1:"+strconv.Itoa(freePort(t)), "-difficulty", "8")
	code, _, stderr = runClient(t, "-addr", down.addr, "-stdio")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "upstream")
	assert.Contains(t, stderr, "connection refused")

	// A gate is no quote service, and the client says so.
	code, _, stderr = runClient(t, "-addr", g.addr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "gate")
}
