package powserver

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/powtcp/powtcp/protocol"
)

// metrics are the server's Prometheus metrics, registered by newMetrics on
// the registry the admin endpoint serves; there are no global metrics.
type metrics struct {
	sessions          *prometheus.CounterVec
	refused           *prometheus.CounterVec
	difficulty        prometheus.Gauge
	handshakes        prometheus.Gauge
	handshakeDuration prometheus.Histogram
	solveTimeouts     prometheus.Counter
	quotesServed      prometheus.Counter
	acceptErrors      prometheus.Counter
	panics            prometheus.Counter
	allowlisted       prometheus.Counter

	// Children bound once for every outcome and refusal the server names,
	// so that a session looks no label up; read-only after newMetrics.
	outcomes map[string]prometheus.Counter
	refusals map[string]prometheus.Counter
}

// Outcomes of a session other than an error code.
const (
	outcomeServed   = "served"
	outcomeGone     = "gone"
	outcomeEvicted  = "evicted"
	outcomeShutdown = "shutdown"
)

// Reasons a connection is refused before its challenge.
var refusalReasons = []string{"per_ip", "cap", "shutdown", "proxy_header"}

// outcome is the counter of sessions that ended with outcome.
func (m *metrics) outcome(outcome string) prometheus.Counter {
	if c, ok := m.outcomes[outcome]; ok {
		return c
	}
	return m.sessions.WithLabelValues(outcome)
}

// refusal is the counter of connections refused for reason.
func (m *metrics) refusal(reason string) prometheus.Counter {
	if c, ok := m.refusals[reason]; ok {
		return c
	}
	return m.refused.WithLabelValues(reason)
}

// newMetrics creates the server's metrics and registers them on reg.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powtcp_sessions_total",
			Help: "Sessions that got a challenge, by outcome: served, an error code (bad-solution, forged, expired, replayed, too-slow, malformed, ...), gone (client hung up), evicted (a silent handshake closed to make room) or shutdown (a silent handshake closed by shutdown).",
		}, []string{"outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "powtcp_connections_refused_total",
			Help: "Connections refused before a challenge, by reason: per_ip (per-address cap), cap (connection cap with no handshake to evict), shutdown, proxy_header (a PROXY protocol header missing from a trusted proxy, sent by another peer, or malformed).",
		}, []string{"reason"}),
		difficulty: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "powtcp_difficulty_bits",
			Help: "Current difficulty for a calm client address: base bits plus the load's extra bits.",
		}),
		handshakes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "powtcp_handshakes_in_flight",
			Help: "Connections that were sent a challenge and have not answered yet.",
		}),
		handshakeDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "powtcp_handshake_duration_seconds",
			Help:    "Time from accept to the server's last line, for every session that got a challenge.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
		solveTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "powtcp_solve_timeouts_total",
			Help: "Sessions whose solve window ran out before a solution arrived.",
		}),
		quotesServed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "powtcp_quotes_served_total",
			Help: "Quotes written to clients that proved their work.",
		}),
		acceptErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "powtcp_accept_errors_total",
			Help: "Errors returned by accept (for example EMFILE); the server backs off and keeps accepting.",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "powtcp_session_panics_total",
			Help: "Sessions that panicked; each one's connection was closed and the server went on.",
		}),
	}
	m.allowlisted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "powtcp_allowlisted_connections_total",
		Help: "Connections admitted from the allow-listed networks (-allow-networks): the base difficulty only, never evicted for a stranger.",
	})
	reg.MustRegister(m.allowlisted)
	m.outcomes = map[string]prometheus.Counter{}
	for _, o := range append([]string{outcomeServed, outcomeGone, outcomeEvicted, outcomeShutdown}, codeNames()...) {
		m.outcomes[o] = m.sessions.WithLabelValues(o)
	}
	m.refusals = map[string]prometheus.Counter{}
	for _, r := range refusalReasons {
		m.refusals[r] = m.refused.WithLabelValues(r)
	}
	reg.MustRegister(m.sessions, m.refused, m.difficulty, m.handshakes, m.handshakeDuration,
		m.solveTimeouts, m.quotesServed, m.acceptErrors, m.panics)
	return m
}

// codeNames are the error codes a session can end with.
func codeNames() []string {
	codes := []protocol.Code{
		protocol.CodeMalformed, protocol.CodeVersion, protocol.CodeBadSolution, protocol.CodeWrongAlg, protocol.CodeForged,
		protocol.CodeWrongResource, protocol.CodeExpired, protocol.CodeReplayed, protocol.CodeTooSlow, protocol.CodeBusy,
	}
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = string(c)
	}
	return names
}
