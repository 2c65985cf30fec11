package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat;
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// readProc reads pid's memory, CPU time and descriptors from /proc. CPU
// time is the sum over threads of /proc/PID/task/*/schedstat (nanoseconds);
// CPUTicks the utime+stime of /proc/PID/stat, as a cross-check.
func readProc(pid int) (report.ProcSample, error) {
	s := report.ProcSample{At: time.Now(), Goroutines: -1, Handshakes: -1, Difficulty: -1}
	dir := fmt.Sprintf("/proc/%d", pid)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			s.RSS = n << 10
		case "VmHWM":
			s.HWM = n << 10
		case "Threads":
			s.Threads = int(n)
		}
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return s, err
	}
	// Fields after the command, which is in parentheses and may hold spaces.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 12 {
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			s.CPU = time.Duration(ut+st) * clockTick
		}
	}
	s.CPUTicks = s.CPU
	if tasks, err := os.ReadDir(dir + "/task"); err == nil {
		var sched time.Duration
		for _, t := range tasks {
			b, err := os.ReadFile(dir + "/task/" + t.Name() + "/schedstat")
			if err != nil {
				continue
			}
			if f := strings.Fields(string(b)); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				sched += time.Duration(n)
			}
		}
		// Exact to the nanosecond, where stat counts 10ms ticks; it forgets
		// exited threads, which a Go server hardly has.
		if sched > 0 {
			s.CPU = sched
		}
	}
	if f, err := os.Open(dir + "/fd"); err == nil {
		names, _ := f.Readdirnames(-1)
		f.Close()
		s.FDs = len(names)
	}
	return s, nil
}

// countPipes is how many of pid's descriptors are pipes: a Go server's
// splice(2) keeps a cache of them (sync.Pool) that only its garbage
// collections empty. -1 when /proc is not readable.
func countPipes(pid int) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	f, err := os.Open(dir)
	if err != nil {
		return -1
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	n := 0
	for _, name := range names {
		if l, err := os.Readlink(dir + "/" + name); err == nil && strings.HasPrefix(l, "pipe:") {
			n++
		}
	}
	return n
}

// scrapeMetrics reads a Prometheus text exposition into name{labels} -> value.
func scrapeMetrics(ctx context.Context, client *http.Client, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s", resp.Status)
	}
	return parseMetrics(io.LimitReader(resp.Body, 4<<20))
}

func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sampler reads the server's /proc and metrics periodically and keeps the
// peaks since the last reset.
type sampler struct {
	pid     int
	metrics string
	client  *http.Client

	mu   sync.Mutex
	last report.ProcSample
	peak report.ProcSample
	err  error
}

func newSampler(pid int, metricsURL string) *sampler {
	return &sampler{pid: pid, metrics: metricsURL, client: &http.Client{Timeout: 5 * time.Second}}
}

// sample reads now, with metrics when withMetrics, and records the peaks.
func (s *sampler) sample(ctx context.Context, withMetrics bool) report.ProcSample {
	var p report.ProcSample
	var err error
	if s.pid > 0 {
		p, err = readProc(s.pid)
	} else {
		p = report.ProcSample{At: time.Now(), Goroutines: -1, Handshakes: -1, Difficulty: -1}
	}
	if withMetrics && s.metrics != "" {
		if m, merr := scrapeMetrics(ctx, s.client, s.metrics); merr == nil {
			p.Metrics = true
			p.Goroutines = int(m["go_goroutines"])
			p.Handshakes = int(m["powtcp_handshakes_in_flight"])
			p.Difficulty = int(m["powtcp_difficulty_bits"])
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && s.err == nil {
		s.err = err
	}
	if !p.Metrics {
		p.Goroutines, p.Handshakes, p.Difficulty = s.last.Goroutines, s.last.Handshakes, s.last.Difficulty
	}
	s.last = p
	s.peak.RSS = max(s.peak.RSS, p.RSS)
	s.peak.HWM = max(s.peak.HWM, p.HWM)
	s.peak.FDs = max(s.peak.FDs, p.FDs)
	s.peak.Threads = max(s.peak.Threads, p.Threads)
	s.peak.Goroutines = max(s.peak.Goroutines, p.Goroutines)
	s.peak.Handshakes = max(s.peak.Handshakes, p.Handshakes)
	s.peak.Difficulty = max(s.peak.Difficulty, p.Difficulty)
	s.peak.CPU, s.peak.CPUTicks = p.CPU, p.CPUTicks
	return p
}

// resetPeak starts a new peak from the last sample and returns the old one.
func (s *sampler) resetPeak() report.ProcSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.peak
	s.peak = s.last
	return old
}

// loop samples every interval (metrics every fifth time) until ctx is done.
func (s *sampler) loop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sample(ctx, i%5 == 0)
		}
	}
}
