package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/powtcp/powtcp/deploy/monitoring"
	"github.com/powtcp/powtcp/internal/needprog"
	"github.com/powtcp/powtcp/internal/redistest"
)

// requirePromEnv makes a missing prometheus (Debian's prometheus package,
// which also gives promtool) a failure instead of a skip; CI sets it.
const requirePromEnv = "POWTCP_REQUIRE_PROMTOOL"

// TestMonitoringDashboard: a real Prometheus scrapes two real servers under
// a short load, a quote server (in-memory spent store) and a gate in front
// of it (shared spent store on a real Valkey/Redis, which is paused once so
// that a call fails), then answers every query of the Grafana dashboard
// (deploy/monitoring) with at least one series, and every alerting rule's
// expression without an error.
func TestMonitoringDashboard(t *testing.T) {
	prom := needprog.Find(t, "prometheus", requirePromEnv, "apt-get install prometheus")
	store := redistest.Start(t)

	quotes := startServer(t, "-admin-addr", "127.0.0.1:0")
	// The gate's upstream is the quote server: a tunnel carries a line up
	// and the server's challenge and error line down.
	gate := startServer(t, "-admin-addr", "127.0.0.1:0", "-upstream", quotes.addr, "-upstream-name", "quotes",
		"-spent-store", store.URL, "-spent-store-timeout", "1s")
	var targets []string
	for _, s := range []*serverProc{quotes, gate} {
		e, err := s.logs.WaitFor("admin listening", stopLimit)
		require.NoError(t, err)
		targets = append(targets, e["addr"].(string))
	}

	cfg, err := yaml.Marshal(map[string]any{
		"global": map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"scrape_configs": []any{map[string]any{
			"job_name":       "powtcp",
			"static_configs": []any{map[string]any{"targets": targets}},
		}},
	})
	require.NoError(t, err)
	cfgFile, err := os.CreateTemp(t.TempDir(), "prometheus-*.yml")
	require.NoError(t, err)
	_, err = cfgFile.Write(cfg)
	require.NoError(t, errors.Join(err, cfgFile.Close()))
	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startProgram(t, promAddr, prom, "--config.file="+cfgFile.Name(),
		"--storage.tsdb.path="+t.TempDir(), "--web.listen-address="+promAddr)

	api := "http://" + promAddr + "/api/v1/"
	// Both targets scraped before the load, so that rates see it.
	require.Eventually(t, func() bool {
		res, err := promQuery(api, `count(up == 1) == 2`)
		return err == nil && len(res) > 0
	}, time.Minute, 200*time.Millisecond, "Prometheus never scraped both servers")

	// The load: quotes, tunnels with bytes both ways, and one redemption
	// refused because the spent store does not answer.
	fetchReports(t, quotes.addr, 8)
	for range 3 {
		out, stderr := tunnel(t, gate.addr, "not a solution\n")
		assert.Contains(t, out, "ERROR ", "the quote server's answer through the tunnel; stderr:\n%s", stderr)
	}
	c := dial(t, gate.addr, "")
	stamp := solve(t, c.challenge(t).Prefix)
	store.Pause(t)
	_, err = c.answer(t, stamp)
	store.Resume(t)
	require.Error(t, err, "a redemption while the store is paused")

	// Scraped after the load, with samples enough for a rate of the
	// store's errors, whose series the failed call created.
	var last string
	if !assert.Eventually(t, func() bool {
		res, err := promQuery(api, `sum(powtcp_tunnels_total) >= 3 and on() count_over_time(powtcp_spent_store_errors_total[15s]) >= 3`)
		last = fmt.Sprint(res, err)
		return err == nil && len(res) > 0
	}, time.Minute, 200*time.Millisecond) {
		t.Fatalf("Prometheus never saw the load: %s", last)
	}

	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(monitoring.Dashboard, &dash))
	grafana := strings.NewReplacer("$__rate_interval", "15s", "$__range", "5m", "$instance", ".*")
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			n++
			q := grafana.Replace(tg.Expr)
			res, err := promQuery(api, q)
			if assert.NoError(t, err, "panel %q: %s", p.Title, q) {
				assert.NotEmpty(t, res, "panel %q: no series for %s", p.Title, q)
			}
		}
	}
	assert.Positive(t, n, "no panel queries")
	for _, v := range dash.Templating.List {
		if v.Definition == "" {
			continue
		}
		// label_values(METRIC, LABEL), Grafana's, is Prometheus' label API.
		args, ok := strings.CutPrefix(v.Definition, "label_values(")
		args, ok2 := strings.CutSuffix(args, ")")
		i := strings.LastIndex(args, ",")
		if !assert.True(t, ok && ok2 && i > 0, "variable %s: not label_values(METRIC, LABEL): %s", v.Name, v.Definition) {
			continue
		}
		match, label := strings.TrimSpace(args[:i]), strings.TrimSpace(args[i+1:])
		values, err := promGet(api + "label/" + label + "/values?" + url.Values{"match[]": {match}}.Encode())
		if assert.NoError(t, err, "variable %s", v.Name) {
			assert.Len(t, values, 2, "variable %s: %s should list both servers", v.Name, v.Definition)
		}
	}

	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(monitoring.Alerts, &rules))
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			_, err := promQuery(api, r.Expr)
			assert.NoError(t, err, "alert %s", r.Alert)
		}
	}
}

// tunnel runs `client -stdio` through the gate at addr with in on stdin
// and returns what came back.
func tunnel(t *testing.T, addr, in string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.client, "-addr", addr, "-stdio")
	cmd.Env = cleanEnv()
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(in), &out, &errOut
	require.NoError(t, cmd.Run(), "client -stdio; stderr:\n%s", errOut.String())
	return out.String(), errOut.String()
}

// promQuery evaluates query now through Prometheus' HTTP API and returns
// its series (an error when Prometheus refuses the query).
func promQuery(api, query string) ([]any, error) {
	data, err := promGet(api + "query?" + url.Values{"query": {query}}.Encode())
	if err != nil {
		return nil, err
	}
	m, _ := data.(map[string]any)
	res, _ := m["result"].([]any)
	return res, nil
}

// promGet GETs an API URL and returns its data, or the error it reports.
func promGet(u string) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   any    `json:"data"`
		Error  string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", u, resp.Status, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", u, resp.Status, body.Error)
	}
	return body.Data, nil
}
