package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/hashcash"
)

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := PercentilesOf(ds)
	assert.Equal(t, Percentiles{N: 100, Mean: 50.5, P50: 50, P90: 90, P99: 99, Max: 100}, p)
	assert.Equal(t, Percentiles{}, PercentilesOf(nil))
	med, spread := Median([]float64{3, 1, 2, 4})
	assert.Equal(t, 2.5, med)
	assert.Equal(t, 1.2, spread)
}

// The targets come from a file: found from the working directory up, or
// named; a malformed or incomplete one is refused; none found means the
// report is not judged.
func TestLoadGoals(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "a", "b")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	good := `{"_comment": "x", "honest_served_min": 0.9, "honest_p99_ratio_max": 3, "wrong_accepted_max": 0,
		"rss_per_socket_kb_max": 5, "cpu_vs_exchange_max": 1.5, "asymmetry_min": 500}`
	require.NoError(t, os.WriteFile(filepath.Join(root, GoalsFile), []byte(good), 0o644))
	t.Chdir(sub)
	g, err := LoadGoals("")
	require.NoError(t, err)
	assert.Equal(t, &Goals{Comment: "x", HonestServedMin: 0.9, HonestP99RatioMax: 3, RSSPerSocketKBMax: 5, CPUVsExchangeMax: 1.5, AsymmetryMin: 500}, g)

	for name, text := range map[string]string{
		"unknown field": `{"honest_served_min": 0.9, "typo": 1}`,
		"missing":       `{"honest_served_min": 0.9}`,
		"not json":      `honest_served_min: 0.9`,
		"negative fds": `{"honest_served_min": 0.9, "honest_p99_ratio_max": 3, "wrong_accepted_max": 0,
		"rss_per_socket_kb_max": 5, "cpu_vs_exchange_max": 1.5, "asymmetry_min": 500, "fds_over_idle_max": -1}`,
	} {
		p := filepath.Join(root, "bad.json")
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		_, err := LoadGoals(p)
		assert.Error(t, err, name)
	}

	t.Chdir(t.TempDir())
	g, err = LoadGoals("")
	require.NoError(t, err)
	assert.Nil(t, g, "no targets file: figures only")
	rep := &Report{Server: &ServerInfo{}}
	rep.Finish(nil)
	for _, tg := range rep.Targets {
		assert.Nil(t, tg.Pass, "%s judged without targets", tg.Name)
	}
}

// goals are targets that attackRun meets but for the p99 ratio.
var goals = &Goals{HonestServedMin: 0.9, HonestP99RatioMax: 2, WrongAcceptedMax: 0, RSSPerSocketKBMax: 8, CPUVsExchangeMax: 1.5, AsymmetryMin: 100}

// attackRun is the report of a run with slowloris and wrongwork attackers,
// the attack doubling p99 latency and one wrong answer accepted.
func attackRun() *Report {
	r := New([]string{"loadgen", "-spawn", "server"}, []string{"honest", Slowloris, "wrongwork"}, 2, hashcash.SHA256)
	r.HashRate = 1e7
	r.Server = &ServerInfo{Addr: "127.0.0.1:1", PID: 7, Spawned: true}
	r.Idle = ProcSample{RSS: 10 << 20, Goroutines: -1, Handshakes: -1, Difficulty: -1}
	at := time.Now()
	phase := func(p99 float64) *Phase {
		h := HonestStats{Sessions: 100, Served: 100, SuccessRate: 1, BitsMean: 20, Latency: Percentiles{N: 100, P50: p99 / 2, P99: p99}}
		start := ProcSample{At: at, CPU: 0, RSS: 14 << 20}
		end := ProcSample{At: at.Add(10 * time.Second), CPU: 50 * time.Millisecond, RSS: 14 << 20}
		return NewPhase(h, start, end, end, 0)
	}
	r.Unloaded, r.Attack = phase(100), phase(300)
	r.Attack.RampRSS, r.Attack.HeldAtRamp = 14<<20, 1024
	r.After = ProcSample{RSS: 12 << 20}
	r.Attackers = map[string]AttackStats{
		Slowloris:   {Conns: 1024, HeldPeak: 1024, Replies: map[string]map[string]int64{"held": {"timeout": 1024}}},
		"wrongwork": {Conns: 10, Replies: map[string]map[string]int64{"short": {"bad-solution": 9, "quote": 1}}, Accepted: map[string]int64{"short": 1}},
	}
	return r
}

func TestNewPhase(t *testing.T) {
	at := time.Now()
	p := NewPhase(HonestStats{Sessions: 10}, ProcSample{At: at}, ProcSample{At: at.Add(time.Second), CPU: 30 * time.Millisecond}, ProcSample{}, 0.01)
	assert.InDelta(t, 0.03, p.ServerCPU, 1e-9)
	assert.InDelta(t, 2000, p.CPUPerSession, 1e-6, "(30ms - 1% of 1s) / 10 sessions, in µs")
	p.SetStoreCPU(5 * time.Millisecond)
	assert.InDelta(t, 0.005, p.StoreCPU, 1e-9)
	assert.Zero(t, p.StoreCPUPerSession, "no session served")
}

// Finish judges the figures by the targets.
func TestFinish(t *testing.T) {
	r := attackRun()
	r.Finish(goals)
	verdicts := map[string]bool{}
	for _, tg := range r.Targets {
		if tg.Pass != nil {
			verdicts[tg.Name] = *tg.Pass
		}
	}
	assert.Equal(t, map[string]bool{
		"honest served under attack":              true,
		"honest p99 latency, attack/unloaded":     false,
		"wrong answers accepted":                  false,
		"crashes":                                 true,
		"server RSS per socket held in handshake": true,
		"work asymmetry at 20 bits":               true,
	}, verdicts)
	assert.Equal(t, int64(1), r.WrongAccepted())
	assert.Equal(t, "10.00 MH/s", r.Rate(r.HashRate))
	assert.Equal(t, "3.0 solutions/s", (&Report{Alg: "equix"}).Rate(3))
	assert.Equal(t, hashcash.SHA256, (&Report{}).ProofOfWork(), "sha256 when not named")
}

// A gate's run is judged on its descriptors too: back to idle within the
// slack after the attack, or the target is missed.
func TestFinishGateFDs(t *testing.T) {
	g := *goals
	g.FDsOverIdleMax = 8
	for _, tt := range []struct {
		after int
		want  string
		pass  bool
	}{{after: 28, want: "yes", pass: true}, {after: 29, want: "no", pass: false}} {
		r := attackRun()
		r.Gate = &GateInfo{Upstream: "127.0.0.1:2", Stalled: 3, IdlePipes: 2, AfterPipes: 50}
		r.Idle.FDs, r.After.FDs, r.Attack.Peak.FDs = 20, tt.after+48, 90 // 2 and 50 pipes, left out
		r.Finish(&g)
		var fds *Target
		for i := range r.Targets {
			if r.Targets[i].Name == "fds back to idle" {
				fds = &r.Targets[i]
			}
		}
		require.NotNil(t, fds, "the fds target")
		assert.Equal(t, tt.want, fds.Value)
		require.NotNil(t, fds.Pass)
		assert.Equal(t, tt.pass, *fds.Pass, "%d fds after, 20 idle", tt.after)
		assert.Contains(t, fds.Note, "peak 90")
		assert.Contains(t, fds.Note, fmt.Sprintf("18 idle, %d after", tt.after-2))
		var out bytes.Buffer
		Print(&out, r)
		assert.Contains(t, out.String(), "3 connections stalled")
	}
	r := attackRun() // not a gate: no such target
	r.Idle.FDs, r.After.FDs = 20, 100
	r.Finish(goals)
	for _, tg := range r.Targets {
		assert.NotEqual(t, "fds back to idle", tg.Name)
	}
}

// Print writes the tables: honest clients, server, attackers, targets.
func TestPrint(t *testing.T) {
	r := attackRun()
	r.Finish(goals)
	var out bytes.Buffer
	Print(&out, r)
	for _, want := range []string{"HONEST CLIENTS", "SERVER (from /proc/7", "ATTACKERS", "wrongwork/short: bad-solution=9 quote=1", "TARGETS", "MISS", "PASS"} {
		assert.Contains(t, out.String(), want)
	}
}

// Summarize groups reports by kind of run and prints medians.
func TestSummarize(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i, p99 := range []float64{300, 200, 100} {
		r := attackRun()
		r.Attack.Honest.Latency.P99 = p99
		r.Finish(goals)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		files = append(files, filepath.Join(dir, string(rune('a'+i))+".json"))
		require.NoError(t, os.WriteFile(files[i], b, 0o644))
	}
	var out bytes.Buffer
	require.NoError(t, Summarize(&out, files))
	assert.Contains(t, out.String(), "attack honest,slowloris,wrongwork (3 runs)")
	var row string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "p99 ratio as measured") {
			row = strings.Join(strings.Fields(l), " ")
		}
	}
	assert.Equal(t, "p99 ratio as measured 2 1 3 100%", row, "median, min, max, spread")
	assert.Error(t, Summarize(&out, []string{filepath.Join(dir, "none.json")}))
}
