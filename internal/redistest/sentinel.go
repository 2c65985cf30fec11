package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelSet is a primary, its replicas and three Sentinels that monitor
// it, all on TCP on 127.0.0.1: Sentinels announce addresses to each other
// and to clients, which a unix socket cannot be.
type SentinelSet struct {
	Master    string    // the name the Sentinels monitor the primary under
	Sentinels []string  // their addresses, host:port
	URL       string    // redis+sentinel://<Sentinels>/<Master>
	Nodes     []*Server // Nodes[0] is the first primary, the others its replicas
	sentinels []*Server
}

// Logs is what every process of the set printed, to show when a test fails.
func (set *SentinelSet) Logs() string {
	var b strings.Builder
	for _, n := range set.Nodes {
		fmt.Fprintf(&b, "--- server %s:\n%s", n.Addr, n.out)
	}
	for i, n := range set.sentinels {
		fmt.Fprintf(&b, "--- Sentinel %s:\n%s", set.Sentinels[i], n.out)
	}
	return b.String()
}

// Quorum and timings of the set's Sentinels: a primary unreachable for
// DownAfter is failed over once two of the three agree.
const (
	sentinelQuorum  = 2
	DownAfter       = 500 * time.Millisecond
	failoverTimeout = 3 * time.Second
)

// StartSentinelSet starts a primary with replicas replicas and three
// Sentinels (valkey-sentinel or redis-sentinel, else the server in
// --sentinel mode), and waits until the replicas are in sync and every
// Sentinel knows the others and every replica: a failover can then
// happen. Every process is killed by PID at cleanup.
func StartSentinelSet(t testing.TB, replicas int) *SentinelSet {
	t.Helper()
	bin := serverBin(t)
	sentinel, sentinelArgs := lookPath("valkey-sentinel", "redis-sentinel"), []string{}
	if sentinel == "" {
		sentinel, sentinelArgs = bin, []string{"--sentinel"}
	}
	ports := freePorts(t, 1+replicas+3)
	set := &SentinelSet{Master: "powtcp"}
	primary := ""
	for i := 0; i <= replicas; i++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i]))
		args := []string{"--port", strconv.Itoa(ports[i]), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", tempDir(t), "--maxmemory-policy", "noeviction"}
		if i == 0 {
			primary = addr
		} else {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
		}
		s := start(t, bin, args, "tcp", addr)
		s.Addr, s.URL = addr, "redis://"+addr+"/0"
		set.Nodes = append(set.Nodes, s)
	}
	for _, port := range ports[1+replicas:] {
		dir := tempDir(t)
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf(`port %[1]d
bind 127.0.0.1
dir %[2]s
sentinel monitor %[3]s 127.0.0.1 %[4]d %[5]d
sentinel down-after-milliseconds %[3]s %[6]d
sentinel failover-timeout %[3]s %[7]d
sentinel parallel-syncs %[3]s %[8]d
`, port, dir, set.Master, ports[0], sentinelQuorum, DownAfter.Milliseconds(), failoverTimeout.Milliseconds(), max(replicas, 1))
		// The Sentinel rewrites its file with what it learns.
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		set.sentinels = append(set.sentinels, start(t, sentinel, append([]string{conf}, sentinelArgs...), "tcp", addr))
		set.Sentinels = append(set.Sentinels, addr)
	}
	set.URL = "redis+sentinel://" + strings.Join(set.Sentinels, ",") + "/" + set.Master
	set.waitReady(t, primary, replicas)
	return set
}

// waitReady waits until the primary has replicas replicas online and each
// Sentinel sees them and the two other Sentinels.
func (set *SentinelSet) waitReady(t testing.TB, primary string, replicas int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := redis.NewClient(&redis.Options{Addr: primary, MaxRetries: -1})
	defer p.Close()
	var sentinels []*redis.SentinelClient
	for _, a := range set.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: a, MaxRetries: -1})
		defer c.Close()
		sentinels = append(sentinels, c)
	}
	ready := func() string {
		info, err := p.Info(ctx, "replication").Result()
		if err != nil {
			return err.Error()
		}
		if online := strings.Count(info, "state=online"); online != replicas {
			return fmt.Sprintf("the primary has %d replicas online, not %d", online, replicas)
		}
		for i, s := range sentinels {
			rs, err := s.Replicas(ctx, set.Master).Result()
			if err != nil {
				return err.Error()
			}
			if up := countUp(rs); up != replicas {
				return fmt.Sprintf("Sentinel %s sees %d replicas up, not %d", set.Sentinels[i], up, replicas)
			}
			ss, err := s.Sentinels(ctx, set.Master).Result()
			if err != nil {
				return err.Error()
			}
			if up := countUp(ss); up != len(sentinels)-1 {
				return fmt.Sprintf("Sentinel %s sees %d other Sentinels up, not %d", set.Sentinels[i], up, len(sentinels)-1)
			}
		}
		return ""
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		why := ready()
		if why == "" {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the Sentinel set was not ready within 30s: %s", why)
		}
	}
}

// countUp counts the entries of SENTINEL REPLICAS or SENTINELS that are
// neither down nor disconnected.
func countUp(entries []map[string]string) int {
	n := 0
	for _, e := range entries {
		if f := e["flags"]; !strings.Contains(f, "down") && !strings.Contains(f, "disconnected") {
			n++
		}
	}
	return n
}

// Primary is the node the Sentinels name as the primary now.
func (set *SentinelSet) Primary(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := redis.NewSentinelClient(&redis.Options{Addr: set.Sentinels[0], MaxRetries: -1})
	defer c.Close()
	a, err := c.GetMasterAddrByName(ctx, set.Master).Result()
	if err != nil {
		t.Fatalf("SENTINEL GET-MASTER-ADDR-BY-NAME: %v", err)
	}
	addr := net.JoinHostPort(a[0], a[1])
	for _, n := range set.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	t.Fatalf("the Sentinels name %s, none of the set's nodes", addr)
	return nil
}

// KillPrimary kills the current primary by PID (SIGKILL) and returns it.
func (set *SentinelSet) KillPrimary(t testing.TB) *Server {
	t.Helper()
	p := set.Primary(t)
	p.Kill(t)
	return p
}

// freePorts picks n distinct free TCP ports on 127.0.0.1: each listened on
// (all at once, so distinct) and closed.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}
