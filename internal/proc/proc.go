// Package proc runs the project's programs as child processes, the way its
// end-to-end tests, the load generator and the image test need them: started
// with an address file that the program writes once it listens, their JSON
// log lines collected and searchable while they run, and stopped by PID,
// gracefully first.
//
// A Process is started by Start, which returns once the program has written
// its address (or exited, or run out of time):
//
//	p, err := proc.Start(ctx, proc.Config{
//		Argv:     []string{server, "-addr", "127.0.0.1:0", "-addr-file", f},
//		AddrFile: f,
//	})
//	...
//	e, err := p.Logs.WaitFor("admin listening", time.Second)
//	...
//	err = p.Stop(10 * time.Second) // SIGTERM, then SIGKILL after 10s
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultStartLimit is how long Start waits for the address file when
// Config.StartLimit is zero: far above what a healthy program takes, even
// built with -race on two busy cores.
const DefaultStartLimit = 30 * time.Second

// pollInterval is how often Start looks for the address file.
const pollInterval = 5 * time.Millisecond

// Config says what to run and how.
type Config struct {
	// Argv is the program and its arguments. The arguments must make it
	// write its listening address to AddrFile.
	Argv []string
	// Env is the program's whole environment; nil means this process's.
	Env []string
	// AddrFile is where the program writes "host:port\n" once it listens
	// (atomically, or at least ending in the newline).
	AddrFile string
	// StartLimit bounds the wait for AddrFile; 0 means DefaultStartLimit.
	StartLimit time.Duration
	// Lifetime, when positive, kills the program that long after Start,
	// whatever happens to the caller's goroutines.
	Lifetime time.Duration
	// DieWithParent kills the program when this process dies (Linux's
	// parent-death signal) and puts it in a process group of its own, so a
	// terminal's Ctrl-C reaches only this process, which stops it in order.
	DieWithParent bool
	// Logs receives the program's stdout and stderr; nil means a new Logs
	// with the default limits.
	Logs *Logs
	// Tee, when set, also receives all of the program's output as it comes.
	Tee io.Writer
}

// Process is a running (or exited) child program.
type Process struct {
	PID  int
	Addr string // what it wrote to Config.AddrFile
	Logs *Logs  // its output, stdout and stderr interleaved

	cmd    *exec.Cmd
	exited chan struct{} // closed once it has exited and its output is read
	err    error         // cmd.Wait's result, set before exited is closed
}

// Start starts cfg.Argv and waits until it has written its address to
// cfg.AddrFile. ctx bounds only that wait: once Start returns, the process
// runs until it exits, is stopped, or cfg.Lifetime passes. When Start fails,
// the process has been killed and reaped, and the error carries the end of
// its output.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	if len(cfg.Argv) == 0 || cfg.AddrFile == "" {
		return nil, errors.New("proc: Config needs Argv and AddrFile")
	}
	life, cancel := context.Background(), context.CancelFunc(func() {})
	if cfg.Lifetime > 0 {
		life, cancel = context.WithTimeout(life, cfg.Lifetime)
	}
	cmd := exec.CommandContext(life, cfg.Argv[0], cfg.Argv[1:]...)
	cmd.Env = cfg.Env
	cmd.WaitDelay = 5 * time.Second // output pipes held open by a grandchild
	if cfg.DieWithParent {
		cmd.SysProcAttr = DieWithParentAttr()
	}
	logs := cfg.Logs
	if logs == nil {
		logs = NewLogs()
	}
	var out io.Writer = logs
	if cfg.Tee != nil {
		out = io.MultiWriter(logs, cfg.Tee)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s: %w", cfg.Argv[0], err)
	}
	p := &Process{PID: cmd.Process.Pid, Logs: logs, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		cancel()
		logs.close()
		close(p.exited)
	}()
	addr, err := p.waitAddr(ctx, cfg)
	if err != nil {
		p.Kill()
		return nil, fmt.Errorf("%s: %w\n%s", cfg.Argv[0], err, logs.Tail(20))
	}
	p.Addr = addr
	return p, nil
}

// waitAddr polls for the address file until it holds a whole line with a
// host:port, the process exits, the limit passes or ctx is done.
func (p *Process) waitAddr(ctx context.Context, cfg Config) (string, error) {
	limit := cfg.StartLimit
	if limit <= 0 {
		limit = DefaultStartLimit
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(cfg.AddrFile)
		switch {
		case err == nil && strings.HasSuffix(string(b), "\n"):
			addr := strings.TrimSpace(string(b))
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return "", fmt.Errorf("address file %s holds %q: %w", cfg.AddrFile, b, err)
			}
			return addr, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("read address file: %w", err)
		}
		select {
		case <-tick.C:
		case <-p.exited:
			return "", fmt.Errorf("exited before listening: %v", p.err)
		case <-deadline.C:
			return "", fmt.Errorf("no address in %s within %v", cfg.AddrFile, limit)
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for %s: %w", cfg.AddrFile, ctx.Err())
		}
	}
}

// Exited is closed once the process has exited and its output is read.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Err is the process's exit error (nil for exit code 0); valid once Exited
// is closed.
func (p *Process) Err() error { return p.err }

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to limit for the process to exit and returns its exit code
// (-1 when a signal ended it). It is an error if it is still running then,
// or if it could not be waited for.
func (p *Process) Wait(limit time.Duration) (int, error) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		return 0, fmt.Errorf("still running after %v", limit)
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		return 0, p.err
	}
	return p.cmd.ProcessState.ExitCode(), nil
}

// Stop asks the process to stop (SIGTERM), waits up to limit, then kills
// it. It returns nil only if the process exited with code 0 after the
// signal; a process that had exited already, failed, or had to be killed
// is an error that carries the end of its output.
func (p *Process) Stop(limit time.Duration) error {
	if !p.Alive() {
		return fmt.Errorf("had exited before it was stopped: %v\n%s", p.err, p.Logs.Tail(20))
	}
	if err := p.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal: %w", err)
	}
	code, err := p.Wait(limit)
	if err != nil {
		p.Kill()
		return fmt.Errorf("did not stop (%v); killed\n%s", err, p.Logs.Tail(20))
	}
	if code != 0 {
		return fmt.Errorf("exit code %d after SIGTERM\n%s", code, p.Logs.Tail(20))
	}
	return nil
}

// Kill kills the process if it still runs and waits until it is reaped.
func (p *Process) Kill() {
	p.cmd.Process.Kill() // an error only says it has exited already
	<-p.exited
}
