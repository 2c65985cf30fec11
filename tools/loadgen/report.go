package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/powtcp/powtcp/hashcash"
)

// Report is everything one run measured; the table is printed from it and
// -json writes it.
type Report struct {
	When      string                 `json:"when"`
	Command   []string               `json:"command"`
	Machine   Machine                `json:"machine"`
	Scenarios []string               `json:"scenarios"`
	Honest    int                    `json:"honest_clients"`
	Alg       string                 `json:"alg,omitempty"` // the server's proof of work; "" is sha256
	HashRate  float64                `json:"hash_rate"`     // one solver goroutine, hashes/s (equix: solutions/s)
	Server    *ServerInfo            `json:"server,omitempty"`
	Idle      ProcSample             `json:"idle"`
	Unloaded  *Phase                 `json:"unloaded,omitempty"`
	Attack    *Phase                 `json:"attack,omitempty"`
	After     ProcSample             `json:"after"`
	Attackers map[string]AttackStats `json:"attackers,omitempty"`
	Baseline  *BaselineReport        `json:"baseline,omitempty"`
	Targets   []Target               `json:"targets"`

	IdleCPURate float64 `json:"idle_cpu_rate"` // server CPU seconds per second with nothing to do
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	Model     string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	Kernel    string `json:"kernel"`
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end"`
}

// ServerInfo is the server under test.
type ServerInfo struct {
	Addr     string           `json:"addr"`
	PID      int              `json:"pid"`
	Spawned  bool             `json:"spawned"`
	Args     []string         `json:"args,omitempty"`
	Metrics  string           `json:"metrics,omitempty"`
	Outcomes map[string]int64 `json:"outcomes,omitempty"` // from its shutdown summary
	Died     string           `json:"died,omitempty"`
}

// Phase is an honest phase and the server's readings over it.
type Phase struct {
	Honest HonestStats `json:"honest"`
	Start  ProcSample  `json:"start"`
	End    ProcSample  `json:"end"`
	Peak   ProcSample  `json:"peak"`
	// ServerCPU is the server's CPU time over the phase; CPUPerSession is
	// that less its idle use, per honest session, in microseconds.
	ServerCPU     float64 `json:"server_cpu_s"`
	CPUPerSession float64 `json:"cpu_per_session_us"`
	LoadgenCPU    float64 `json:"loadgen_cpu_s"` // this tool's own CPU time over the phase
	// StoreCPU is the shared spent store's CPU time over the phase (with
	// -store-pid), and per honest session in microseconds.
	StoreCPU           float64 `json:"store_cpu_s,omitempty"`
	StoreCPUPerSession float64 `json:"store_cpu_per_session_us,omitempty"`
	// Under attack: RSS and slowloris sockets held when the honest phase began.
	RampRSS    int64 `json:"ramp_rss_bytes,omitempty"`
	HeldAtRamp int64 `json:"held_at_ramp,omitempty"`
}

func newPhase(h HonestStats, start, end, peak ProcSample, idleRate float64) *Phase {
	p := &Phase{Honest: h, Start: start, End: end, Peak: peak}
	p.ServerCPU = (end.CPU - start.CPU).Seconds()
	if h.Sessions > 0 {
		net := p.ServerCPU - idleRate*end.At.Sub(start.At).Seconds()
		p.CPUPerSession = max(net, 0) / float64(h.Sessions) * 1e6
	}
	return p
}

// Target is one of issue 4's targets, as measured.
type Target struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Goal  string `json:"goal"`
	Pass  *bool  `json:"pass,omitempty"` // nil when not measured by this run
	Note  string `json:"note,omitempty"`
}

func newReport(cfg config) *Report {
	return &Report{
		When:      time.Now().UTC().Format(time.RFC3339),
		Command:   cfg.Args,
		Machine:   machine(),
		Scenarios: cfg.Scenarios,
		Honest:    cfg.Honest,
		Alg:       cfg.alg().String(),
	}
}

// alg is the run's proof of work.
func (r *Report) alg() hashcash.Alg {
	a, err := hashcash.ParseAlg(r.Alg)
	if err != nil {
		return hashcash.SHA256
	}
	return a
}

// rate formats a solver's rate in the unit of the run's proof of work:
// MH/s, or Equi-X solutions/s.
func (r *Report) rate(v float64) string {
	if r.alg() == hashcash.Equix {
		return fmt.Sprintf("%.1f solutions/s", v)
	}
	return fmt.Sprintf("%.2f MH/s", v/1e6)
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
		if strings.Contains(string(b), " sha_ni") {
			m.Model += " (SHA-NI)"
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// WrongAccepted is the number of wrong answers that got a quote.
func (r *Report) WrongAccepted() int64 {
	var n int64
	for _, a := range r.Attackers {
		for _, v := range a.Accepted {
			n += v
		}
	}
	return n
}

func pass(b bool) *bool { return &b }

// finish computes the targets.
func (r *Report) finish(cfg config) {
	r.Machine.LoadEnd = loadavg()
	g, judged := cfg.Goals, cfg.Goals != nil
	add := func(name, value, goal string, ok *bool, note string) {
		if !judged { // no targets file: figures, not judged
			ok, goal = nil, "-"
		}
		r.Targets = append(r.Targets, Target{Name: name, Value: value, Goal: goal, Pass: ok, Note: note})
	}
	if g == nil {
		g = &Goals{}
	}
	if b := r.Baseline; b != nil {
		name := fmt.Sprintf("server CPU/session at difficulty %d vs the bare line exchange", b.Bits)
		if b.Rate > 0 {
			name += fmt.Sprintf(" (paced %.0f/s)", b.Rate)
		}
		add(name, fmt.Sprintf("%.2fx", b.RatioExchange), fmt.Sprintf("≤ %gx", g.CPUVsExchangeMax), pass(b.RatioExchange <= g.CPUVsExchangeMax),
			fmt.Sprintf("median of %d rounds; %.2fx the bare one-line server (spread %.0f%%), %.2fx the seed-shaped server", len(b.Ratios), b.Ratio, 100*b.RatioSpread, b.RatioSeed))
		if b.Asymmetry > 0 {
			add(fmt.Sprintf("work asymmetry (%d bits, difficulty-0 server cost)", r.alg().DefaultBits()), fmt.Sprintf("%.0fx", b.Asymmetry), fmt.Sprintf("≥ %gx", g.AsymmetryMin), pass(b.Asymmetry >= g.AsymmetryMin),
				fmt.Sprintf("expected solve %.0fms at %s / %.1fµs", 1e3*b.ExpectedSolveS, r.rate(r.HashRate), b.Targets[len(b.Targets)-1].CPUPerSession))
		}
		return
	}
	attacked := r.Attack != nil && len(r.Attackers) > 0
	if r.Unloaded != nil && r.Attack != nil {
		u, a := r.Unloaded.Honest, r.Attack.Honest
		name := "honest served under attack"
		if !attacked {
			name = "honest served (second phase, no attack)"
		}
		add(name, fmt.Sprintf("%.1f%% of %d", 100*a.SuccessRate, a.Sessions), fmt.Sprintf("≥ %g%%", 100*g.HonestServedMin), pass(a.SuccessRate >= g.HonestServedMin && a.Sessions > 0), "")
		rp := ratio(a.Latency.P99, u.Latency.P99)
		add("honest p99 latency, attack/unloaded", fmt.Sprintf("%.2fx", rp), fmt.Sprintf("≤ %gx", g.HonestP99RatioMax), pass(rp <= g.HonestP99RatioMax && rp > 0),
			fmt.Sprintf("%.0fms vs %.0fms as measured; bits %.1f vs %.1f; wait (less solving) p99 %.2fx; client hash rate %s vs %s",
				a.Latency.P99, u.Latency.P99, a.BitsMean, u.BitsMean, ratio(a.Wait.P99, u.Wait.P99), r.rate(a.HashRate), r.rate(u.HashRate)))
		if rn := ratio(a.Normalized.P99, u.Normalized.P99); rn > 0 {
			add("honest p99 latency normalized, attack/unloaded", fmt.Sprintf("%.2fx", rn), fmt.Sprintf("≤ %gx", g.HonestP99RatioMax), pass(rn <= g.HonestP99RatioMax),
				fmt.Sprintf("%.0fms vs %.0fms: wait + attempts at the calibrated %s, so CPU taken by the attackers or other processes does not count; p50 %.2fx",
					a.Normalized.P99, u.Normalized.P99, r.rate(r.HashRate), ratio(a.Normalized.P50, u.Normalized.P50)))
		}
	}
	if attacked {
		var sent int64
		for _, a := range r.Attackers {
			for _, replies := range a.Replies {
				for reply, n := range replies {
					if !strings.HasPrefix(reply, "open-") && reply != "sent" {
						sent += n
					}
				}
			}
		}
		n := r.WrongAccepted()
		add("wrong answers accepted", fmt.Sprint(n), fmt.Sprint(g.WrongAcceptedMax), pass(n <= g.WrongAcceptedMax), fmt.Sprintf("of %d answered attack connections", sent))
	}
	if r.Server != nil {
		ok := r.Server.Died == ""
		v := "none"
		if !ok {
			v = "server died"
		}
		add("crashes", v, "0", pass(ok), "")
	}
	if p := r.Attack; p != nil && p.HeldAtRamp > 0 && r.Idle.RSS > 0 {
		per := float64(p.RampRSS-r.Idle.RSS) / float64(p.HeldAtRamp)
		note := fmt.Sprintf("%.1f MB over idle for %d sockets", float64(p.RampRSS-r.Idle.RSS)/(1<<20), p.HeldAtRamp)
		if len(r.Attackers) > 1 {
			note += "; other attackers add to it: run -scenario honest,slowloris alone for this figure"
		}
		add("server RSS per socket held in handshake", fmt.Sprintf("%.1f KB", per/1024), fmt.Sprintf("≤ %g KB", g.RSSPerSocketKBMax), pass(per <= g.RSSPerSocketKBMax*1024), note)
	}
	if p := r.Attack; p != nil && r.Idle.RSS > 0 && attacked {
		add("server RSS bounded", fmt.Sprintf("peak %.0f MB, %.0f MB after", mb(p.Peak.RSS), mb(r.After.RSS)), "bounded", nil,
			fmt.Sprintf("idle %.0f MB", mb(r.Idle.RSS)))
	}
	if p := r.Unloaded; p != nil && p.CPUPerSession > 0 && r.HashRate > 0 && p.Honest.Served > 0 {
		bits := int(math.Round(p.Honest.BitsMean))
		expected := hashcash.ExpectedAttempts(bits) / r.HashRate
		asym := expected / (p.CPUPerSession / 1e6)
		add(fmt.Sprintf("work asymmetry at %d bits", bits), fmt.Sprintf("%.0fx", asym), fmt.Sprintf("≥ %gx", g.AsymmetryMin), pass(asym >= g.AsymmetryMin),
			fmt.Sprintf("expected solve %.0fms at %s / server %.1fµs per session (unloaded, idle subtracted)",
				1e3*expected, r.rate(r.HashRate), p.CPUPerSession))
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// printReport writes the report as tables.
func printReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "powtcp loadgen %s\n", r.When)
	fmt.Fprintf(w, "command   %s\n", strings.Join(r.Command, " "))
	fmt.Fprintf(w, "machine   %d CPUs, %s, %s, Linux %s; load avg %s -> %s\n", r.Machine.CPUs, r.Machine.Model,
		r.Machine.GoVersion, r.Machine.Kernel, r.Machine.LoadStart, r.Machine.LoadEnd)
	fmt.Fprintf(w, "hash rate %s per solver goroutine (%v)\n", r.rate(r.HashRate), r.alg())
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server    pid %d at %s", s.PID, s.Addr)
		if s.Spawned {
			fmt.Fprintf(w, " (spawned, extra args %q)", s.Args)
		}
		fmt.Fprintln(w)
	}
	if b := r.Baseline; b != nil {
		printBaseline(w, b)
	}
	if r.Unloaded != nil && r.Attack != nil {
		printHonest(w, r)
		printServer(w, r)
	}
	if len(r.Attackers) > 0 {
		printAttackers(w, r)
	}
	if s := r.Server; s != nil && len(s.Outcomes) > 0 {
		fmt.Fprintf(w, "\nserver outcomes (its shutdown summary): %s\n", kv(s.Outcomes))
	}
	fmt.Fprintln(w, "\nTARGETS")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		verdict := "-"
		if t.Pass != nil {
			verdict = map[bool]string{true: "PASS", false: "MISS"}[*t.Pass]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Value, t.Goal, verdict, t.Note)
	}
	tw.Flush()
}

func printHonest(w io.Writer, r *Report) {
	u, a := r.Unloaded.Honest, r.Attack.Honest
	fmt.Fprintf(w, "\nHONEST CLIENTS (%d concurrent, scenarios %s)\n", r.Honest, strings.Join(r.Scenarios, ","))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tunloaded\tunder attack\tratio\t\n")
	row := func(name string, x, y float64, format string) {
		fmt.Fprintf(tw, "%s\t"+format+"\t"+format+"\t%.2fx\t\n", name, x, y, ratio(y, x))
	}
	fmt.Fprintf(tw, "sessions\t%d\t%d\t\t\n", u.Sessions, a.Sessions)
	fmt.Fprintf(tw, "served\t%.1f%%\t%.1f%%\t\t\n", 100*u.SuccessRate, 100*a.SuccessRate)
	row("sessions/s", u.SessionsPerSec, a.SessionsPerSec, "%.1f")
	row("latency p50 ms", u.Latency.P50, a.Latency.P50, "%.1f")
	row("latency p90 ms", u.Latency.P90, a.Latency.P90, "%.1f")
	row("latency p99 ms", u.Latency.P99, a.Latency.P99, "%.1f")
	row("normalized p50 ms", u.Normalized.P50, a.Normalized.P50, "%.1f")
	row("normalized p99 ms", u.Normalized.P99, a.Normalized.P99, "%.1f")
	row("wait p50 ms (less solving)", u.Wait.P50, a.Wait.P50, "%.2f")
	row("wait p99 ms (less solving)", u.Wait.P99, a.Wait.P99, "%.2f")
	row("solve p99 ms", u.Solve.P99, a.Solve.P99, "%.1f")
	row("bits mean", u.BitsMean, a.BitsMean, "%.2f")
	fmt.Fprintf(tw, "bits min-max\t%d-%d\t%d-%d\t\t\n", u.BitsMin, u.BitsMax, a.BitsMin, a.BitsMax)
	if r.alg() == hashcash.Equix {
		row("client solutions/s", u.HashRate, a.HashRate, "%.1f")
	} else {
		row("client hash rate MH/s", u.HashRate/1e6, a.HashRate/1e6, "%.2f")
	}
	tw.Flush()
	fmt.Fprintln(w, "normalized = wait + the session's attempts at the calibrated hash rate (what the server imposed, free of CPU contention)")
	if len(u.Failures)+len(a.Failures) > 0 {
		fmt.Fprintf(w, "failures: unloaded %s; under attack %s\n", kv(u.Failures), kv(a.Failures))
	}
}

func printServer(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\nSERVER (from /proc/%d and /metrics)\n", r.Server.PID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	u, a := r.Unloaded, r.Attack
	fmt.Fprintf(tw, "\tidle\tunloaded peak\tattack at ramp\tattack peak\tafter\t\n")
	samples := []ProcSample{r.Idle, u.Peak, a.Start, a.Peak, r.After}
	line := func(name string, f func(p ProcSample) string) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, p := range samples {
			fmt.Fprintf(tw, "%s\t", f(p))
		}
		fmt.Fprintln(tw)
	}
	line("RSS MB", func(p ProcSample) string { return fmt.Sprintf("%.1f", mb(p.RSS)) })
	line("fds", func(p ProcSample) string { return fmt.Sprint(p.FDs) })
	line("threads", func(p ProcSample) string { return fmt.Sprint(p.Threads) })
	line("goroutines", func(p ProcSample) string { return opt(p.Goroutines) })
	line("handshakes", func(p ProcSample) string { return opt(p.Handshakes) })
	line("difficulty bits", func(p ProcSample) string { return opt(p.Difficulty) })
	tw.Flush()
	fmt.Fprintf(w, "server CPU: unloaded %.2fs over %.0fs (%.1fµs per honest session, idle %.2f%% subtracted); under attack %.2fs over %.0fs (%.0f%% of one core)\n",
		u.ServerCPU, u.Honest.Elapsed, u.CPUPerSession, 100*r.IdleCPURate, a.ServerCPU, a.Honest.Elapsed, 100*ratio(a.ServerCPU, a.Honest.Elapsed))
	if u.StoreCPU > 0 || a.StoreCPU > 0 {
		fmt.Fprintf(w, "spent store CPU: unloaded %.2fs (%.1fµs per honest session), under attack %.2fs (%.1fµs per honest session)\n",
			u.StoreCPU, u.StoreCPUPerSession, a.StoreCPU, a.StoreCPUPerSession)
	}
	fmt.Fprintf(w, "loadgen CPU (same machine, competing): unloaded %.0f%%, under attack %.0f%% of one core\n",
		100*ratio(u.LoadgenCPU, u.Honest.Elapsed), 100*ratio(a.LoadgenCPU, a.Honest.Elapsed))
}

func opt(n int) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

func printAttackers(w io.Writer, r *Report) {
	fmt.Fprintln(w, "\nATTACKERS (replies by kind of attack; quote = a wrong answer ACCEPTED)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\tconns\tconns/s\tdial errors\theld peak\taccepted\tunexpected\t\n")
	for _, name := range slices.Sorted(maps.Keys(r.Attackers)) {
		a := r.Attackers[name]
		held := "-"
		if name == scSlowloris {
			held = fmt.Sprint(a.HeldPeak)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%d\t%s\t%d\t%d\t\n", name, a.Conns, a.ConnsPerSec, a.DialErrors, held, sum(a.Accepted), sum(a.Unexpected))
	}
	tw.Flush()
	for _, name := range slices.Sorted(maps.Keys(r.Attackers)) {
		a := r.Attackers[name]
		for _, kind := range slices.Sorted(maps.Keys(a.Replies)) {
			fmt.Fprintf(w, "  %s/%s: %s\n", name, kind, kv(a.Replies[kind]))
		}
		if a.Legit > 0 {
			fmt.Fprintf(w, "  %s: %d seeds solved and redeemed honestly\n", name, a.Legit)
		}
		for _, n := range a.Notes {
			fmt.Fprintf(w, "  %s: note: %s\n", name, n)
		}
	}
}

func printBaseline(w io.Writer, b *BaselineReport) {
	pace := "as fast as they go"
	if b.Rate > 0 {
		pace = fmt.Sprintf("paced to %.0f/s", b.Rate)
	}
	fmt.Fprintf(w, "\nBASELINE (%d sessions per target and round, %d concurrent, %s; server CPU from /proc)\n", b.Sessions, b.Concurrency, pace)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target\tCPU µs/session (median)\tspread\tper round\tsessions/s\t\n")
	for _, t := range b.Targets {
		var rounds []string
		for _, r := range t.Rounds {
			rounds = append(rounds, fmt.Sprintf("%.1f", r.CPUPerSession))
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.0f%%\t%s\t%.0f\t\n", t.Name, t.CPUPerSession, 100*t.Spread, strings.Join(rounds, " "), t.SessionsPerSec)
	}
	tw.Flush()
	var rs []string
	for _, r := range b.Ratios {
		rs = append(rs, fmt.Sprintf("%.2f", r))
	}
	fmt.Fprintf(w, "powtcp/oneline per round: %s; median %.2fx (spread %.0f%%); powtcp/exchange %.2fx; powtcp/seed-shaped %.2fx",
		strings.Join(rs, " "), b.Ratio, 100*b.RatioSpread, b.RatioExchange, b.RatioSeed)
	if b.RatioRealSeed > 0 {
		fmt.Fprintf(w, "; powtcp/seed-real %.2fx", b.RatioRealSeed)
	}
	fmt.Fprintf(w, " (difficulty %d bits)\n", b.Bits)
}

func kv(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// Goals are the pass/fail targets reports are judged by, read from a JSON
// file (BENCHMARKS.targets.json beside BENCHMARKS.md) rather than written in
// the code.
type Goals struct {
	Comment           string  `json:"_comment"` // for people; not a target
	HonestServedMin   float64 `json:"honest_served_min"`
	HonestP99RatioMax float64 `json:"honest_p99_ratio_max"`
	WrongAcceptedMax  int64   `json:"wrong_accepted_max"`
	RSSPerSocketKBMax float64 `json:"rss_per_socket_kb_max"`
	CPUVsExchangeMax  float64 `json:"cpu_vs_exchange_max"`
	AsymmetryMin      float64 `json:"asymmetry_min"`
}

// goalsFile is the targets file's name, looked for in the working
// directory and its parents when -targets is not given.
const goalsFile = "BENCHMARKS.targets.json"

// loadGoals reads the targets file at path, or finds goalsFile from the
// working directory up when path is empty; nil and no error when there is
// none to find (the report then gives figures without judging them).
func loadGoals(path string) (*Goals, error) {
	if path == "" {
		dir, err := os.Getwd()
		if err != nil {
			return nil, nil
		}
		for {
			if p := filepath.Join(dir, goalsFile); fileExists(p) {
				path = p
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return nil, nil
			}
			dir = parent
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-targets: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var g Goals
	if err := d.Decode(&g); err != nil {
		return nil, fmt.Errorf("-targets %s: %w", path, err)
	}
	if g.HonestServedMin <= 0 || g.HonestP99RatioMax <= 0 || g.RSSPerSocketKBMax <= 0 || g.CPUVsExchangeMax <= 0 || g.AsymmetryMin <= 0 {
		return nil, fmt.Errorf("-targets %s: every target must be set and positive (wrong_accepted_max may be 0)", path)
	}
	return &g, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
