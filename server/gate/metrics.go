package gate

import "github.com/prometheus/client_golang/prometheus"

// metrics are the gate's Prometheus metrics.
type metrics struct {
	open        prometheus.Gauge
	tunnels     *prometheus.CounterVec
	outcomes    map[string]prometheus.Counter
	bytesUp     prometheus.Counter
	bytesDown   prometheus.Counter
	dialErrors  prometheus.Counter
	dialSeconds prometheus.Histogram
}

// Outcomes of a tunnel, the label values of powtcp_tunnels_total.
var tunnelOutcomes = []string{"closed", "idle", "lifetime", "shutdown", "error", "gone", "upstream", "busy"}

func newMetrics(reg prometheus.Registerer) *metrics {
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "powtcp_tunnel_bytes_total",
		Help: "Bytes relayed through tunnels, by direction: up (client to upstream) and down.",
	}, []string{"direction"})
	m := &metrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "powtcp_tunnels_open",
			Help: "Tunnels open to the upstream now.",
		}),
		tunnels: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powtcp_tunnels_total",
			Help: "Tunnels by outcome: closed (both sides finished), idle, lifetime, shutdown, error (a peer reset), gone (the client left before PROCEED), upstream (the dial failed), busy (over -max-tunnels or -max-tunnels-per-ip).",
		}, []string{"outcome"}),
		bytesUp:   bytes.WithLabelValues("up"),
		bytesDown: bytes.WithLabelValues("down"),
		dialErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "powtcp_upstream_dial_errors_total",
			Help: "Dials of the upstream that failed (refused, timed out, unreachable).",
		}),
		dialSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "powtcp_upstream_dial_seconds",
			Help:    "Time to dial the upstream, failures included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}),
	}
	m.outcomes = map[string]prometheus.Counter{}
	for _, o := range tunnelOutcomes {
		m.outcomes[o] = m.tunnels.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.open, m.tunnels, bytes, m.dialErrors, m.dialSeconds)
	}
	return m
}

// outcome is the counter of tunnels that ended with outcome.
func (m *metrics) outcome(o string) prometheus.Counter {
	if c, ok := m.outcomes[o]; ok {
		return c
	}
	return m.tunnels.WithLabelValues(o)
}
