package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/powtcp/powtcp/internal/proc"
)

// child is a process the load generator started: the server under test or
// a baseline server. It listens on 127.0.0.1:0 and writes the bound
// address to a file.
type child struct {
	*proc.Process
	name string
}

// startChild starts argv with env added, pinned to cpus with taskset when
// cpus is set, waits until it has written its address to the file it was
// given (addrFile), and returns it. Its output also goes to logTo (when not
// nil), which is closed once the child has exited.
func startChild(ctx context.Context, log *zap.Logger, name string, argv, env []string, addrFile, cpus string, logTo io.WriteCloser) (*child, error) {
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cfg := proc.Config{
		Argv:     argv,
		Env:      append(os.Environ(), env...),
		AddrFile: addrFile,
		// The child dies with the load generator, whatever happens to it.
		DieWithParent: true,
	}
	if logTo != nil {
		cfg.Tee = logTo
	}
	p, err := proc.Start(ctx, cfg)
	if err != nil {
		if logTo != nil {
			logTo.Close()
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if logTo != nil {
		go func() {
			<-p.Exited()
			logTo.Close()
		}()
	}
	c := &child{Process: p, name: name}
	if err := checkLoopback(c.Addr); err != nil {
		_ = c.stop(5 * time.Second) // the listen address's error is the one to report
		return nil, fmt.Errorf("%s listens on %w", name, err)
	}
	// A server logs its admin listener right after its protocol listener.
	if name == "server" {
		_, _ = c.Logs.WaitFor("admin listening", 2*time.Second) // none without -admin-addr
	}
	log.Info("started", zap.String("process", name), zap.Int("pid", c.PID), zap.String("addr", c.Addr),
		zap.String("admin", c.adminAddr()), zap.String("cpus", cpus))
	return c, nil
}

// adminAddr is the admin address the child logged, "" when none.
func (c *child) adminAddr() string {
	e, err := c.Logs.Find("admin listening")
	if err != nil {
		return ""
	}
	a, _ := e["addr"].(string)
	return a
}

// outcomes are the counts of the child's "stopped" log line, nil before.
func (c *child) outcomes() map[string]int64 {
	e, err := c.Logs.Find("stopped")
	if err != nil {
		return nil
	}
	raw, _ := e["summary"].(map[string]any)
	sum := make(map[string]int64, len(raw))
	for k, v := range raw {
		if f, ok := v.(float64); ok {
			sum[k] = int64(f)
		}
	}
	return sum
}

// stop sends SIGTERM, waits up to timeout, then kills. It returns an error
// when the child had exited on its own or did not stop cleanly.
func (c *child) stop(timeout time.Duration) error {
	if err := c.Stop(timeout); err != nil {
		return fmt.Errorf("%s %w", c.name, err)
	}
	return nil
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
