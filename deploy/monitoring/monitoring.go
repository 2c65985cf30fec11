// Package monitoring holds powtcp's Grafana dashboard (powtcp-dashboard.json)
// and Prometheus alerting rules (alerts.yml, unit-tested by alerts_test.yml),
// and the tests that keep them true: promtool checks and unit-tests the rules,
// and every query of the dashboard and the rules names only metrics, labels
// and label values the server's code registers. The end-to-end test
// (e2e/monitoring_test.go) runs every dashboard query on a real Prometheus
// that scraped real servers. See README.md.
package monitoring

import _ "embed"

// Dashboard is powtcp-dashboard.json, the Grafana dashboard.
//
//go:embed powtcp-dashboard.json
var Dashboard []byte

// Alerts is alerts.yml, the Prometheus alerting rules.
//
//go:embed alerts.yml
var Alerts []byte
