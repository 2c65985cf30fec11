package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// child is a process the load generator started: the server under test or
// a baseline server. It listens on 127.0.0.1:0 and writes the bound
// address to a file.
type child struct {
	name string
	cmd  *exec.Cmd
	pid  int
	addr string // its protocol address
	log  *zap.Logger

	mu      sync.Mutex
	admin   string           // admin address from its log, "" when none
	summary map[string]int64 // outcomes from its "stopped" log line
	tail    []string         // its last log lines

	exited    chan struct{} // closed when the process has exited
	waitErr   error
	logDone   chan struct{}
	adminSeen chan struct{} // closed when the admin address was logged
}

// startChild starts argv with env added, pinned to cpus with taskset when
// cpus is set, waits until it has written its address to the file it was
// given (addrFile), and returns it. Its stderr goes to logTo (when not nil),
// and is read for the admin address and the final summary.
func startChild(ctx context.Context, log *zap.Logger, name string, argv, env []string, addrFile, cpus string, logTo io.WriteCloser) (*child, error) {
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	// The child dies with the load generator, whatever happens to it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		if logTo != nil {
			logTo.Close()
		}
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, pid: cmd.Process.Pid, log: log,
		exited: make(chan struct{}), logDone: make(chan struct{}), adminSeen: make(chan struct{})}
	go c.readLog(stderr, logTo)
	go func() {
		<-c.logDone // Wait closes the pipe; read it to the end first
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()

	// Wait for the address file: the child writes it once it listens.
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(addrFile); err == nil && strings.HasSuffix(string(b), "\n") {
			c.addr = strings.TrimSpace(string(b))
			break
		}
		select {
		case <-tick.C:
			continue
		case <-c.exited:
			return nil, fmt.Errorf("%s exited before listening: %v\n%s", name, c.waitErr, c.logTail())
		case <-deadline.C:
			c.stop(5 * time.Second)
			return nil, fmt.Errorf("%s did not listen within 30s\n%s", name, c.logTail())
		case <-ctx.Done():
			c.stop(5 * time.Second)
			return nil, ctx.Err()
		}
	}
	if err := checkLoopback(c.addr); err != nil {
		c.stop(5 * time.Second)
		return nil, fmt.Errorf("%s listens on %w", name, err)
	}
	// A server logs its admin listener right after its protocol listener.
	if name == "server" {
		t := time.NewTimer(2 * time.Second)
		select {
		case <-c.adminSeen:
		case <-t.C:
		}
		t.Stop()
	}
	log.Info("started", zap.String("process", name), zap.Int("pid", c.pid), zap.String("addr", c.addr),
		zap.String("admin", c.adminAddr()), zap.String("cpus", cpus))
	return c, nil
}

// readLog reads the child's stderr line by line.
func (c *child) readLog(r io.Reader, to io.WriteCloser) {
	defer close(c.logDone)
	if to != nil {
		defer to.Close()
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if to != nil {
			fmt.Fprintln(to, line)
		}
		var m struct {
			Msg     string           `json:"msg"`
			Addr    string           `json:"addr"`
			Summary map[string]int64 `json:"summary"`
		}
		json.Unmarshal([]byte(line), &m)
		c.mu.Lock()
		switch m.Msg {
		case "admin listening":
			if c.admin == "" {
				c.admin = m.Addr
				close(c.adminSeen)
			}
		case "stopped":
			c.summary = m.Summary
		}
		c.tail = append(c.tail, line)
		if len(c.tail) > 20 {
			c.tail = c.tail[1:]
		}
		c.mu.Unlock()
	}
	io.Copy(io.Discard, r)
}

func (c *child) adminAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.admin
}

func (c *child) outcomes() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.summary
}

func (c *child) logTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// alive reports whether the child is still running.
func (c *child) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, waits up to timeout, then kills. It returns the
// child's exit error when it had exited on its own or did not stop cleanly.
func (c *child) stop(timeout time.Duration) error {
	if !c.alive() {
		return fmt.Errorf("%s had exited: %v", c.name, c.waitErr)
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.exited:
		var ee *exec.ExitError
		if c.waitErr != nil && !(errors.As(c.waitErr, &ee) && ee.Exited() && ee.ExitCode() == 0) {
			return fmt.Errorf("%s: %v\n%s", c.name, c.waitErr, c.logTail())
		}
		return nil
	case <-t.C:
		c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("%s did not stop within %v; killed", c.name, timeout)
	}
}

// spawnServer starts the server binary under test on 127.0.0.1:0.
func spawnServer(ctx context.Context, log *zap.Logger, cfg config, extra []string) (*child, error) {
	dir, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	addrFile := filepath.Join(dir, "addr")
	argv := []string{cfg.Spawn,
		"-addr", "127.0.0.1:0", "-addr-file", addrFile, "-admin-addr", "127.0.0.1:0",
		"-log-format", "json", "-shutdown-timeout", "5s", "-challenge-ttl", cfg.ChallengeTTL.String(),
	}
	argv = append(argv, extra...)
	argv = append(argv, cfg.ServerArgs...)
	if cfg.ServerNoFile > 0 { // the limit applies to the server alone, not to the attackers here
		argv = append([]string{"sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$@"`, cfg.ServerNoFile), "sh"}, argv...)
	}
	var logTo io.WriteCloser
	if cfg.ServerLog != "" {
		f, err := os.OpenFile(cfg.ServerLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("-server-log: %w", err)
		}
		logTo = f // closed once the log is read to its end
	}
	return startChild(ctx, log, "server", argv, nil, addrFile, cfg.ServerCPUs, logTo)
}
