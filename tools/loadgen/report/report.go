// Package report is the load generator's report: the figures of one run
// (Report, written as JSON by loadgen -json), the targets it is judged by
// (Goals, from BENCHMARKS.targets.json), the tables printed from it
// (Print), and medians over several runs (Summarize, loadgen -summarize).
package report

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
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
	Gate      *GateInfo              `json:"gate,omitempty"` // the server relayed to an upstream
	Idle      ProcSample             `json:"idle"`
	Unloaded  *Phase                 `json:"unloaded,omitempty"`
	Attack    *Phase                 `json:"attack,omitempty"`
	After     ProcSample             `json:"after"`
	Attackers map[string]AttackStats `json:"attackers,omitempty"`
	Baseline  *BaselineReport        `json:"baseline,omitempty"`
	Targets   []Target               `json:"targets"`
	// Timeline is the run second by second, from the unloaded phase's
	// start to the attack phase's end.
	Timeline []Point `json:"timeline,omitempty"`

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
	LoadgenCPU    float64 `json:"loadgen_cpu_s"` // this tool's own CPU time over the phase, its honest clients' process included
	// HonestCPU is the honest clients' process's share of LoadgenCPU; the
	// rest is the attackers' (and the tool's own bookkeeping).
	HonestCPU float64 `json:"honest_clients_cpu_s,omitempty"`
	// StoreCPU is the shared spent store's CPU time over the phase (with
	// -store-pid), and per honest session in microseconds.
	StoreCPU           float64 `json:"store_cpu_s,omitempty"`
	StoreCPUPerSession float64 `json:"store_cpu_per_session_us,omitempty"`
	// Under attack: RSS and slowloris sockets held when the honest phase began.
	RampRSS    int64 `json:"ramp_rss_bytes,omitempty"`
	HeldAtRamp int64 `json:"held_at_ramp,omitempty"`
}

// NewPhase is a phase of the honest clients' figures h, between the
// server's readings start and end, with its peak; idleRate is the server's
// CPU seconds per second with nothing to do, which CPUPerSession leaves out.
func NewPhase(h HonestStats, start, end, peak ProcSample, idleRate float64) *Phase {
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

// New starts the report of a run of command (the command line), with
// honest clients, of scenarios, against a server of alg; it reads the
// machine now.
func New(command, scenarios []string, honest int, alg hashcash.Alg) *Report {
	return &Report{
		When:      time.Now().UTC().Format(time.RFC3339),
		Command:   command,
		Machine:   machine(),
		Scenarios: scenarios,
		Honest:    honest,
		Alg:       alg.String(),
	}
}

// ProofOfWork is the run's proof of work (Alg).
func (r *Report) ProofOfWork() hashcash.Alg {
	a, err := hashcash.ParseAlg(r.Alg)
	if err != nil {
		return hashcash.SHA256
	}
	return a
}

// Rate formats a solver's rate in the unit of the run's proof of work:
// MH/s, or Equi-X solutions/s.
func (r *Report) Rate(v float64) string {
	if r.ProofOfWork() == hashcash.Equix {
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

// Finish reads the machine's load again and judges the figures by g, the
// targets; with g nil it lists them unjudged.
func (r *Report) Finish(g *Goals) {
	r.Machine.LoadEnd = loadavg()
	judged := g != nil
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
			add(fmt.Sprintf("work asymmetry (%d bits, difficulty-0 server cost)", r.ProofOfWork().DefaultBits()), fmt.Sprintf("%.0fx", b.Asymmetry), fmt.Sprintf("≥ %gx", g.AsymmetryMin), pass(b.Asymmetry >= g.AsymmetryMin),
				fmt.Sprintf("expected solve %.0fms at %s / %.1fµs", 1e3*b.ExpectedSolveS, r.Rate(r.HashRate), b.Targets[len(b.Targets)-1].CPUPerSession))
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
		rp := Ratio(a.Latency.P99, u.Latency.P99)
		add("honest p99 latency, attack/unloaded", fmt.Sprintf("%.2fx", rp), fmt.Sprintf("≤ %gx", g.HonestP99RatioMax), pass(rp <= g.HonestP99RatioMax && rp > 0),
			fmt.Sprintf("%.0fms vs %.0fms as measured; bits %.1f vs %.1f; wait (less solving) p99 %.2fx; client hash rate %s vs %s",
				a.Latency.P99, u.Latency.P99, a.BitsMean, u.BitsMean, Ratio(a.Wait.P99, u.Wait.P99), r.Rate(a.HashRate), r.Rate(u.HashRate)))
		if rn := Ratio(a.Normalized.P99, u.Normalized.P99); rn > 0 {
			add("honest p99 latency normalized, attack/unloaded", fmt.Sprintf("%.2fx", rn), fmt.Sprintf("≤ %gx", g.HonestP99RatioMax), pass(rn <= g.HonestP99RatioMax),
				fmt.Sprintf("%.0fms vs %.0fms: wait + attempts at the calibrated %s, so CPU taken by the attackers or other processes does not count; p50 %.2fx",
					a.Normalized.P99, u.Normalized.P99, r.Rate(r.HashRate), Ratio(a.Normalized.P50, u.Normalized.P50)))
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
	if gi := r.Gate; gi != nil && r.Idle.FDs > 0 && r.After.FDs > 0 {
		idle, after := r.Idle.FDs-max(gi.IdlePipes, 0), r.After.FDs-max(gi.AfterPipes, 0)
		ok := after-idle <= g.FDsOverIdleMax
		v := "yes"
		if !ok {
			v = "no"
		}
		add("fds back to idle", v, fmt.Sprintf("≤ idle + %d", g.FDsOverIdleMax), pass(ok),
			fmt.Sprintf("%d idle, %d after the attack and the settle, pipes left out (%d and %d: Go's splice-pipe cache, emptied by its GC); all fds %d and %d, peak %d",
				idle, after, gi.IdlePipes, gi.AfterPipes, r.Idle.FDs, r.After.FDs, r.peakFDs()))
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
				1e3*expected, r.Rate(r.HashRate), p.CPUPerSession))
	}
}

// SetStoreCPU records the store's CPU time over the phase.
func (p *Phase) SetStoreCPU(d time.Duration) {
	p.StoreCPU = d.Seconds()
	if n := p.Honest.Served; n > 0 && d > 0 {
		p.StoreCPUPerSession = d.Seconds() / float64(n) * 1e6
	}
}

// peakFDs is the most descriptors the server held in either phase.
func (r *Report) peakFDs() int {
	n := 0
	for _, p := range []*Phase{r.Unloaded, r.Attack} {
		if p != nil {
			n = max(n, p.Peak.FDs)
		}
	}
	return n
}
