package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// Summarize reads -json reports and prints, per kind of run, the median,
// minimum and maximum of each headline figure over the runs: the numbers
// BENCHMARKS.md quotes.
func Summarize(w io.Writer, files []string) error {
	groups := map[string][]map[string]float64{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r Report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		key, figs := figures(&r)
		groups[key] = append(groups[key], figs)
	}
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		runs := groups[key]
		fmt.Fprintf(w, "\n%s (%d runs)\n", key, len(runs))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "figure\tmedian\tmin\tmax\tspread\t\n")
		names := map[string]bool{}
		for _, r := range runs {
			for k := range r {
				names[k] = true
			}
		}
		for _, name := range slices.Sorted(maps.Keys(names)) {
			var xs []float64
			for _, r := range runs {
				if v, ok := r[name]; ok && !math.IsNaN(v) {
					xs = append(xs, v)
				}
			}
			med, spread := Median(xs)
			fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%.4g\t%.0f%%\t\n", name, med, slices.Min(xs), slices.Max(xs), 100*spread)
		}
		tw.Flush()
	}
	return nil
}

// figures picks a report's headline numbers; key names the kind of run.
func figures(r *Report) (string, map[string]float64) {
	f := map[string]float64{"hash rate MH/s": r.HashRate / 1e6}
	if b := r.Baseline; b != nil {
		key := "baseline"
		if b.Rate > 0 {
			key = fmt.Sprintf("baseline paced %.0f/s", b.Rate)
		}
		f["ratio powtcp/oneline"] = b.Ratio
		f["ratio powtcp/exchange"] = b.RatioExchange
		f["ratio powtcp/seed"] = b.RatioSeed
		if b.RatioRealSeed > 0 {
			f["ratio powtcp/seed-real"] = b.RatioRealSeed
		}
		for _, t := range b.Targets {
			f["CPU µs/session "+t.Name] = t.CPUPerSession
		}
		f["asymmetry 20 bits (d0 cost)"] = b.Asymmetry
		return key, f
	}
	key := "attack " + strings.Join(r.Scenarios, ",")
	if u, a := r.Unloaded, r.Attack; u != nil && a != nil {
		if u.StoreCPUPerSession > 0 {
			f["store CPU µs/session unloaded"] = u.StoreCPUPerSession
		}
		f["server CPU µs/session unloaded"] = u.CPUPerSession
		f["honest served % under attack"] = 100 * a.Honest.SuccessRate
		f["honest sessions under attack"] = float64(a.Honest.Sessions)
		f["p99 ratio as measured"] = Ratio(a.Honest.Latency.P99, u.Honest.Latency.P99)
		f["p99 ratio normalized"] = Ratio(a.Honest.Normalized.P99, u.Honest.Normalized.P99)
		f["p50 ratio normalized"] = Ratio(a.Honest.Normalized.P50, u.Honest.Normalized.P50)
		f["wait p99 ratio"] = Ratio(a.Honest.Wait.P99, u.Honest.Wait.P99)
		f["honest bits under attack"] = a.Honest.BitsMean
		f["server CPU µs/session unloaded"] = u.CPUPerSession
		f["server CPU % of a core under attack"] = 100 * Ratio(a.ServerCPU, a.Honest.Elapsed)
		f["loadgen CPU % of a core under attack"] = 100 * Ratio(a.LoadgenCPU, a.Honest.Elapsed)
		f["attackers' CPU % of a core under attack"] = 100 * Ratio(a.LoadgenCPU-a.HonestCPU, a.Honest.Elapsed)
		f["server RSS MB peak under attack"] = mb(a.Peak.RSS)
		if a.HeldAtRamp > 0 && r.Idle.RSS > 0 {
			f["server RSS KB per held socket"] = float64(a.RampRSS-r.Idle.RSS) / float64(a.HeldAtRamp) / 1024
		}
	}
	f["wrong answers accepted"] = float64(r.WrongAccepted())
	for name, a := range r.Attackers {
		f[name+" conns/s"] = a.ConnsPerSec
	}
	for _, t := range r.Targets {
		if strings.HasPrefix(t.Name, "work asymmetry at") {
			var v float64
			_, _ = fmt.Sscanf(t.Value, "%fx", &v) // 0 unless the value reads "N.Nx"
			f["asymmetry (unloaded)"] = v
		}
	}
	return key, f
}
