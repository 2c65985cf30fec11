package report

// Point is one second of a run: what the honest clients got and what the
// server showed in it.
type Point struct {
	T            float64 `json:"t_s"`   // seconds since the unloaded phase began, at the second's end
	Phase        string  `json:"phase"` // "unloaded" or "attack"
	Served       int     `json:"served"`
	Failed       int     `json:"failed"`
	P99ms        float64 `json:"p99_ms"`         // of the sessions that ended in the second; 0 when none
	RefusedPerS  float64 `json:"refused_per_s"`  // powtcp_connections_refused_total's rise; -1 when unknown
	Difficulty   int     `json:"difficulty"`     // powtcp_difficulty_bits; -1 when unknown
	Handshakes   int     `json:"handshakes"`     // powtcp_handshakes_in_flight; -1 when unknown
	AttackConnsS float64 `json:"attack_conns_s"` // the attackers' connections in the second
}
