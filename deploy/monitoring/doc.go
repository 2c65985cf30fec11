// Package monitoring holds powtcp's Grafana dashboard (powtcp-dashboard.json)
// and Prometheus alerting rules (alerts.yml, unit-tested by alerts_test.yml),
// and the tests that keep them true: promtool checks and unit-tests the rules,
// and every query of the dashboard and the rules names only metrics, labels
// and label values the server's code registers. See README.md.
package monitoring
