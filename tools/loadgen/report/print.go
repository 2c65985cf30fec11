package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/powtcp/powtcp/hashcash"
)

// mb is b in MiB.
func mb(b int64) float64 { return float64(b) / (1 << 20) }

// Print writes the report as tables.
func Print(w io.Writer, r *Report) {
	fmt.Fprintf(w, "powtcp loadgen %s\n", r.When)
	fmt.Fprintf(w, "command   %s\n", strings.Join(r.Command, " "))
	fmt.Fprintf(w, "machine   %d CPUs, %s, %s, Linux %s; load avg %s -> %s\n", r.Machine.CPUs, r.Machine.Model,
		r.Machine.GoVersion, r.Machine.Kernel, r.Machine.LoadStart, r.Machine.LoadEnd)
	fmt.Fprintf(w, "hash rate %s per solver goroutine (%v)\n", r.Rate(r.HashRate), r.ProofOfWork())
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server    pid %d at %s", s.PID, s.Addr)
		if s.Spawned {
			fmt.Fprintf(w, " (spawned, extra args %q)", s.Args)
		}
		fmt.Fprintln(w)
	}
	if g := r.Gate; g != nil {
		up := "the gate's own (an echo service)"
		if g.Upstream != "" {
			up = "echo at " + g.Upstream + ", run by loadgen"
		}
		fmt.Fprintf(w, "gate      upstream %s; %d connections stalled when the attack stopped\n", up, g.Stalled)
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
		fmt.Fprintf(tw, "%s\t"+format+"\t"+format+"\t%.2fx\t\n", name, x, y, Ratio(y, x))
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
	if r.ProofOfWork() == hashcash.Equix {
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
		u.ServerCPU, u.Honest.Elapsed, u.CPUPerSession, 100*r.IdleCPURate, a.ServerCPU, a.Honest.Elapsed, 100*Ratio(a.ServerCPU, a.Honest.Elapsed))
	if u.StoreCPU > 0 || a.StoreCPU > 0 {
		fmt.Fprintf(w, "spent store CPU: unloaded %.2fs (%.1fµs per honest session), under attack %.2fs (%.1fµs per honest session)\n",
			u.StoreCPU, u.StoreCPUPerSession, a.StoreCPU, a.StoreCPUPerSession)
	}
	fmt.Fprintf(w, "loadgen CPU (same machine, competing): unloaded %.0f%%, under attack %.0f%% of one core; of which the honest clients' process %.0f%% and %.0f%%\n",
		100*Ratio(u.LoadgenCPU, u.Honest.Elapsed), 100*Ratio(a.LoadgenCPU, a.Honest.Elapsed),
		100*Ratio(u.HonestCPU, u.Honest.Elapsed), 100*Ratio(a.HonestCPU, a.Honest.Elapsed))
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
		if name == Slowloris || a.HeldPeak > 0 { // slowloris, and the gate's held tunnels
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
