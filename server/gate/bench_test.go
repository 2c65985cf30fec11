package gate

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/client/powclient"
	"github.com/powtcp/powtcp/server/powserver"
)

// The gate's benchmarks run its relay between loopback sockets in this
// process, beside the same exchange without it ("direct"): compare the
// two sub-benchmarks of one run. The proof is made at difficulty 0 and is
// not timed (b.ResetTimer), except in BenchmarkTunnelSetup.

// benchGate serves a gate in front of upstream at difficulty bits.
func benchGate(b *testing.B, upstream string, bits int) string {
	b.Helper()
	cfg := DefaultConfig(upstream)
	cfg.MaxTunnelsPerIP = cfg.MaxTunnels // every client here is 127.0.0.1
	g, err := New(cfg, zap.NewNop(), prometheus.NewRegistry())
	require.NoError(b, err)
	scfg := powserver.DefaultConfig()
	scfg.Difficulty, scfg.MaxExtraBits, scfg.Handler = bits, -1, g
	srv, err := powserver.New(scfg, zap.NewNop(), nil)
	require.NoError(b, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // tunnels still open are closed at its deadline
		if err := <-served; !errors.Is(err, powserver.ErrServerClosed) {
			b.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// benchUpstream serves handle on every connection until the benchmark ends.
func benchUpstream(b *testing.B, handle func(net.Conn)) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// target is a way to the upstream: dial connects, and each connection
// runs goroutines goroutines in this process once it is up (the
// upstream's handler; through a gate also the relay's two).
type target struct {
	dial       func() net.Conn
	goroutines int
}

// targets are the ways to the upstream: straight, through a gate, and,
// when HAProxy is installed (Debian's haproxy), through HAProxy in TCP mode
// with kernel splicing, the relay operators already use.
func targets(b *testing.B, upstream string) map[string]target {
	gate := benchGate(b, upstream, 0)
	ts := map[string]target{
		"direct": {goroutines: 1, dial: func() net.Conn {
			c, err := net.Dial("tcp", upstream)
			require.NoError(b, err)
			return c
		}},
		"gate": {goroutines: 3, dial: func() net.Conn {
			c, err := powclient.Dial(context.Background(), gate, powclient.Options{Workers: 1}, nil)
			require.NoError(b, err)
			return c
		}},
	}
	if haproxy := startHAProxy(b, upstream); haproxy != "" {
		ts["haproxy"] = target{goroutines: 1, dial: func() net.Conn {
			c, err := net.Dial("tcp", haproxy)
			require.NoError(b, err)
			return c
		}}
	}
	return ts
}

// relays are the targets' names in the order the benchmarks run them.
var relays = []string{"direct", "gate", "haproxy"}

// startHAProxy runs HAProxy in front of upstream, in TCP mode with
// splice-auto, and returns its address; "" when haproxy is not installed.
func startHAProxy(b *testing.B, upstream string) string {
	b.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/haproxy"); err != nil {
			return ""
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(b.TempDir(), "haproxy.cfg")
	require.NoError(b, os.WriteFile(cfg, []byte(`global
  maxconn 4096
defaults
  mode tcp
  option splice-auto
  timeout connect 5s
  timeout client 1m
  timeout server 1m
listen relay
  bind `+addr+`
  server upstream `+upstream+`
`), 0o600))
	cmd := exec.Command(bin, "-db", "-f", cfg)
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		_ = cmd.Process.Kill() // it has no other way out
		_ = cmd.Wait()
	})
	require.Eventually(b, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 5*time.Millisecond, "haproxy listens on %s", addr)
	return addr
}

// forEachRelay runs bench on one connection through each relay to an
// upstream that serves handle.
func forEachRelay(b *testing.B, handle func(net.Conn), bench func(b *testing.B, c net.Conn)) {
	ts := targets(b, benchUpstream(b, handle))
	for _, name := range relays {
		t, ok := ts[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			c := t.dial()
			defer c.Close()
			bench(b, c)
		})
	}
}

// BenchmarkThroughput sends 64 MiB a time one way and reads as much back
// (the upstream echoes): bytes per second, both directions counted.
func BenchmarkThroughput(b *testing.B) {
	const chunk = 64 << 20
	forEachRelay(b, echo, func(b *testing.B, c net.Conn) {
		buf := make([]byte, 256<<10)
		b.SetBytes(2 * chunk)
		b.ResetTimer()
		for b.Loop() {
			done := make(chan error, 1)
			go func() {
				_, err := io.CopyN(io.Discard, c, chunk)
				done <- err
			}()
			for sent := 0; sent < chunk; sent += len(buf) {
				_, err := c.Write(buf)
				require.NoError(b, err)
			}
			require.NoError(b, <-done)
		}
	})
}

// BenchmarkRoundTrip sends one byte and waits for it to come back through
// an established connection: the latency the relay adds per round trip.
func BenchmarkRoundTrip(b *testing.B) {
	forEachRelay(b, echo, func(b *testing.B, c net.Conn) {
		one := make([]byte, 1)
		b.ResetTimer()
		for b.Loop() {
			_, err := c.Write(one)
			require.NoError(b, err)
			_, err = io.ReadFull(c, one)
			require.NoError(b, err)
		}
	})
}

// BenchmarkIdleTunnel opens idle connections and reports the heap and
// stacks each one adds to this process (client, relay and upstream sides
// alike): "gate" less "direct" is what the gate holds per idle tunnel.
func BenchmarkIdleTunnel(b *testing.B) {
	const n = 500
	up := benchUpstream(b, discard)
	ts := targets(b, up)
	for _, name := range relays {
		tg, ok := ts[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				before, g0 := inUse(), runtime.NumGoroutine()
				conns := make([]net.Conn, n)
				for i := range conns {
					conns[i] = tg.dial()
				}
				require.Eventually(b, func() bool { return runtime.NumGoroutine() >= g0+n*tg.goroutines },
					10*time.Second, time.Millisecond, "every connection's goroutines started: %d of %d", runtime.NumGoroutine()-g0, n*tg.goroutines)
				b.ReportMetric(float64(inUse()-before)/n, "B/conn")
				for _, c := range conns {
					c.Close()
				}
				require.Eventually(b, func() bool { return runtime.NumGoroutine() <= g0+16 }, 10*time.Second, time.Millisecond,
					"every connection's goroutines ended")
			}
		})
	}
}

// inUse is the heap and the goroutine stacks in use, after a collection.
func inUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// BenchmarkTunnelSetup opens a tunnel at the default difficulty (20 bits):
// the proof, the upstream's dial, PROCEED.
func BenchmarkTunnelSetup(b *testing.B) {
	gate := benchGate(b, benchUpstream(b, discard), powserver.DefaultConfig().Difficulty)
	for b.Loop() {
		c, err := powclient.Dial(context.Background(), gate, powclient.Options{}, nil)
		require.NoError(b, err)
		c.Close()
	}
}
