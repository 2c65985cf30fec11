package monitoring

import (
	"context"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/powtcp/powtcp/internal/needprog"
	"github.com/powtcp/powtcp/server/gate"
	"github.com/powtcp/powtcp/server/powserver"
	"github.com/powtcp/powtcp/server/redisstore"
)

// The rules' unit tests; the dashboard and the rules are the package's
// Dashboard and Alerts.
//
//go:embed alerts_test.yml
var alertsTestYAML []byte

// requirePromtoolEnv makes a missing promtool a failure instead of a skip;
// .ci/run sets it.
const requirePromtoolEnv = "POWTCP_REQUIRE_PROMTOOL"

// TestPromtool checks the rules and runs their unit tests with Prometheus'
// own promtool (Debian: apt-get install prometheus).
func TestPromtool(t *testing.T) {
	promtool := needprog.Find(t, "promtool", requirePromtoolEnv, "apt-get install prometheus")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts.yml"), Alerts, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts_test.yml"), alertsTestYAML, 0o644))
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		cancel()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
		t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// TestEveryAlertIsTested: each alert of alerts.yml has a case in
// alerts_test.yml that expects it to fire.
func TestEveryAlertIsTested(t *testing.T) {
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	require.NoError(t, yaml.Unmarshal(alertsTestYAML, &tests))
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			}
		}
	}
	rules := alertRules(t)
	require.NotEmpty(t, rules)
	for _, r := range rules {
		assert.True(t, fires[r.Alert], "alert %s has no case in alerts_test.yml that expects it to fire", r.Alert)
	}
}

type rule struct {
	Alert string `yaml:"alert"`
	Expr  string `yaml:"expr"`
}

func alertRules(t *testing.T) []rule {
	t.Helper()
	var f struct {
		Groups []struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(Alerts, &f))
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules
}

// TestAlertsNameRealMetrics: every rule's expression names only metrics,
// labels and label values the code registers.
func TestAlertsNameRealMetrics(t *testing.T) {
	known := codeMetrics(t)
	for _, r := range alertRules(t) {
		for _, p := range checkExpr(r.Expr, known) {
			t.Errorf("alert %s: %s", r.Alert, p)
		}
	}
}

// TestDashboardNamesRealMetrics: every query of the dashboard (panels'
// targets and template variables) names only metrics, labels and label
// values the code registers, and every powtcp_ metric has a panel.
func TestDashboardNamesRealMetrics(t *testing.T) {
	var dash map[string]any
	require.NoError(t, json.Unmarshal(Dashboard, &dash))
	known := codeMetrics(t)

	exprs := map[string]string{} // expression -> where
	panels, _ := dash["panels"].([]any)
	require.NotEmpty(t, panels, "dashboard has no panels")
	var walkPanels func([]any)
	titles := map[string]bool{}
	walkPanels = func(ps []any) {
		for _, p := range ps {
			p := p.(map[string]any)
			title, _ := p["title"].(string)
			if p["type"] == "row" {
				sub, _ := p["panels"].([]any)
				walkPanels(sub)
				continue
			}
			assert.False(t, titles[title], "two panels titled %q", title)
			titles[title] = true
			targets, _ := p["targets"].([]any)
			assert.NotEmpty(t, targets, "panel %q has no query", title)
			for _, tg := range targets {
				expr, _ := tg.(map[string]any)["expr"].(string)
				if assert.NotEmpty(t, expr, "panel %q: a target without expr", title) {
					exprs[expr] = "panel " + strconvQuote(title)
				}
			}
		}
	}
	walkPanels(panels)
	templating, _ := dash["templating"].(map[string]any)
	vars, _ := templating["list"].([]any)
	for _, v := range vars {
		v := v.(map[string]any)
		if v["type"] != "query" {
			continue
		}
		q := v["query"]
		if m, ok := q.(map[string]any); ok {
			q = m["query"]
		}
		s, _ := q.(string)
		if assert.NotEmpty(t, s, "variable %v has no query", v["name"]) {
			exprs[s] = "variable " + strconvQuote(v["name"].(string))
		}
	}

	shown := map[string]bool{}
	for expr, where := range exprs {
		for _, p := range checkExpr(expr, known) {
			t.Errorf("%s: %s", where, p)
		}
		for _, name := range metricRe.FindAllString(expr, -1) {
			shown[baseName(name, known)] = true
		}
	}
	for name := range known {
		if strings.HasPrefix(name, "powtcp_") && !shown[name] {
			t.Errorf("the code registers %s but no panel of the dashboard shows it: add one", name)
		}
	}
}

func strconvQuote(s string) string { return `"` + s + `"` }

// metric is what the code registers under one name.
type metric struct {
	labels map[string]bool            // variable labels
	values map[string]map[string]bool // label -> values seen in a Gather
}

// Labels Prometheus itself adds or a histogram's series carry.
var targetLabels = map[string]bool{"job": true, "instance": true}

var (
	metricRe  = regexp.MustCompile(`\b(?:powtcp|process|go)_[a-zA-Z0-9_]+\b`)
	selectRe  = regexp.MustCompile(`\b((?:powtcp|process|go)_[a-zA-Z0-9_]+)\s*\{([^}]*)\}`)
	matcherRe = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	groupRe   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	labelsRe  = regexp.MustCompile(`label_values\(\s*[a-zA-Z0-9_:]+(?:\{[^}]*\})?\s*,\s*([a-zA-Z0-9_]+)\s*\)`)
)

// baseName is name without a histogram's _bucket, _sum or _count suffix
// when the code registers the base name.
func baseName(name string, known map[string]*metric) string {
	if _, ok := known[name]; ok {
		return name
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, suf); ok {
			if _, ok := known[b]; ok {
				return b
			}
		}
	}
	return name
}

// checkExpr returns what expr names that the code does not register: a
// metric, a label of a metric, a label value the code never sets, or a
// grouping label none of expr's metrics has.
func checkExpr(expr string, known map[string]*metric) []string {
	var problems []string
	names := metricRe.FindAllString(expr, -1)
	if len(names) == 0 {
		return []string{"names no powtcp, process or go metric: " + expr}
	}
	labels := map[string]bool{}
	for l := range targetLabels {
		labels[l] = true
	}
	for _, name := range names {
		m, ok := known[baseName(name, known)]
		if !ok {
			problems = append(problems, "no metric "+name+" in the code")
			continue
		}
		for l := range m.labels {
			labels[l] = true
		}
		if strings.HasSuffix(name, "_bucket") {
			labels["le"] = true
		}
	}
	for _, sel := range selectRe.FindAllStringSubmatch(expr, -1) {
		name := sel[1]
		m, ok := known[baseName(name, known)]
		if !ok {
			continue // reported above
		}
		for _, mt := range matcherRe.FindAllStringSubmatch(sel[2], -1) {
			label, op, value := mt[1], mt[2], mt[3]
			if targetLabels[label] || (label == "le" && strings.HasSuffix(name, "_bucket")) {
				continue
			}
			if !m.labels[label] {
				problems = append(problems, name+" has no label "+label)
				continue
			}
			if vals := m.values[label]; op == "=" && len(vals) > 0 && !vals[value] {
				problems = append(problems, name+`{`+label+`="`+value+`"}: the code sets `+label+" to one of "+strings.Join(sortedKeys(vals), ", "))
			}
		}
	}
	var grouped []string
	for _, g := range groupRe.FindAllStringSubmatch(expr, -1) {
		grouped = append(grouped, strings.Split(g[1], ",")...)
	}
	for _, g := range labelsRe.FindAllStringSubmatch(expr, -1) {
		grouped = append(grouped, g[1])
	}
	for _, l := range grouped {
		if l = strings.TrimSpace(l); l != "" && !labels[l] {
			problems = append(problems, "label "+l+" is on none of "+strings.Join(names, ", "))
		}
	}
	return problems
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// recorder is a Registerer that keeps the descriptions of what is
// registered on it: a vector with no child yet is absent from Gather.
type recorder struct {
	*prometheus.Registry
	descs []*prometheus.Desc
}

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		r.descs = append(r.descs, d)
	}
	return r.Registry.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

var (
	descNameRe   = regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabelsRe = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
)

// codeMetrics registers what the server registers on its admin endpoint's
// registry, as server/run.go does: the process collector (process_open_fds),
// the engine (powserver.New), a shared spent store (redisstore.New) and the
// gate (gate.New); and returns each metric's labels and label values.
func codeMetrics(t *testing.T) map[string]*metric {
	t.Helper()
	reg := &recorder{Registry: prometheus.NewRegistry()}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	_, err := powserver.New(powserver.DefaultConfig(), nil, reg)
	require.NoError(t, err)
	_, err = gate.New(gate.DefaultConfig("127.0.0.1:1"), nil, reg)
	require.NoError(t, err)
	// No Redis here: New registers its metrics, then fails its PING.
	_, _, err = redisstore.New(context.Background(), redisstore.Config{
		URL: "unix://" + filepath.Join(t.TempDir(), "absent.sock"), Timeout: 10 * time.Millisecond,
	}, reg)
	require.Error(t, err)
	// server/run.go and server/reload.go (package main, which a test cannot
	// import) register the descriptor budget and the reload's metrics.
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "powtcp_fd_budget", Help: "server/run.go"}, func() float64 { return 0 }))
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "powtcp_reload_errors_total", Help: "server/reload.go"}))
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "powtcp_reload_success_timestamp_seconds", Help: "server/reload.go"}))

	known := map[string]*metric{}
	for _, d := range reg.descs {
		s := d.String()
		name := descNameRe.FindStringSubmatch(s)
		require.NotNil(t, name, "cannot read a name from %s", s)
		m := &metric{labels: map[string]bool{}, values: map[string]map[string]bool{}}
		if ls := descLabelsRe.FindStringSubmatch(s); ls != nil && ls[1] != "" {
			for _, l := range strings.Split(ls[1], ",") {
				l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")")
				m.labels[l] = true
			}
		}
		known[name[1]] = m
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		m, ok := known[f.GetName()]
		require.True(t, ok, "gathered %s, which no description names", f.GetName())
		for _, s := range f.GetMetric() {
			for _, lp := range s.GetLabel() {
				if m.values[lp.GetName()] == nil {
					m.values[lp.GetName()] = map[string]bool{}
				}
				m.values[lp.GetName()][lp.GetValue()] = true
			}
		}
	}
	for _, name := range []string{"process_open_fds", "powtcp_sessions_total", "powtcp_tunnels_total", "powtcp_spent_store_seconds", "powtcp_spent_store_errors_total"} {
		require.Contains(t, known, name, "the code registers no %s: has a constructor above stopped registering its metrics?", name)
	}
	require.True(t, slices.Contains(sortedKeys(known["powtcp_sessions_total"].values["outcome"]), "served"))
	return known
}
