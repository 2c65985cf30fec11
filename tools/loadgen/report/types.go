package report

import (
	"time"
)

// Figures of one run, as the load generator measures them; Report holds
// them.

// HonestStats are the honest clients' figures of one phase.
type HonestStats struct {
	Sessions    int              `json:"sessions"`
	Served      int              `json:"served"`
	SuccessRate float64          `json:"success_rate"`
	Failures    map[string]int64 `json:"failures,omitempty"` // by class
	// Latency is dial to quote of served sessions; Wait is Latency less the
	// client's own solving, i.e. the time spent waiting on the network and
	// the server; Solve is the solving alone.
	Latency Percentiles `json:"latency"`
	Wait    Percentiles `json:"wait"`
	Solve   Percentiles `json:"solve"`
	// Normalized is Wait plus the session's attempts at the calibrated hash
	// rate: the latency the server imposed on a client with a whole core,
	// whatever else competed for this machine's CPUs.
	Normalized     Percentiles `json:"normalized"`
	BitsMean       float64     `json:"bits_mean"`
	BitsMin        int         `json:"bits_min"`
	BitsMax        int         `json:"bits_max"`
	HashRate       float64     `json:"hash_rate"` // attempts per second of solving, per session
	SessionsPerSec float64     `json:"sessions_per_sec"`
	Elapsed        float64     `json:"elapsed_s"`
}

// ProcSample is one reading of a process from /proc and its metrics.
type ProcSample struct {
	At         time.Time     `json:"-"`
	RSS        int64         `json:"rss_bytes"`     // VmRSS
	HWM        int64         `json:"hwm_bytes"`     // VmHWM, peak RSS since start
	CPU        time.Duration `json:"cpu_ns"`        // run time of all threads (schedstat), else CPUTicks
	CPUTicks   time.Duration `json:"cpu_ticks_ns"`  // utime+stime from /proc/PID/stat, in 10ms ticks
	FDs        int           `json:"fds"`           // open file descriptors
	Threads    int           `json:"threads"`       // OS threads
	Goroutines int           `json:"goroutines"`    // go_goroutines from /metrics; -1 when unknown
	Handshakes int           `json:"handshakes"`    // powtcp_handshakes_in_flight; -1 when unknown
	Difficulty int           `json:"difficulty"`    // powtcp_difficulty_bits; -1 when unknown
	Metrics    bool          `json:"metrics_known"` // whether the metrics fields were read
}

// AttackStats are one scenario's figures. Replies counts the server's
// answers by kind of attack and reply: an ERROR code, "quote", "closed"
// (the server hung up without a line), "timeout" and so on.
type AttackStats struct {
	Conns       int64                       `json:"conns"`
	DialErrors  int64                       `json:"dial_errors"`
	ConnsPerSec float64                     `json:"conns_per_sec"`
	HeldPeak    int64                       `json:"held_peak,omitempty"`    // slowloris: sockets holding a challenge
	HeldAtRamp  int64                       `json:"held_at_ramp,omitempty"` // slowloris: when the honest phase started
	Replies     map[string]map[string]int64 `json:"replies"`                // kind -> reply -> count
	Accepted    map[string]int64            `json:"accepted,omitempty"`     // kind -> wrong answers that got a QUOTE
	Unexpected  map[string]int64            `json:"unexpected,omitempty"`   // kind -> replies other than the expected refusal
	Legit       int64                       `json:"legit_quotes,omitempty"` // wrongwork: quotes for the seeds it solved honestly
	Notes       []string                    `json:"notes,omitempty"`
}

// BaselineRound is one measurement of one target.
type BaselineRound struct {
	Sessions       int     `json:"sessions"`
	Failed         int     `json:"failed"`
	ServerCPU      float64 `json:"server_cpu_s"`
	CPUPerSession  float64 `json:"cpu_per_session_us"`
	SessionsPerSec float64 `json:"sessions_per_sec"`
	LoadgenCPU     float64 `json:"loadgen_cpu_s"`
}

// BaselineTarget is one target over all rounds.
type BaselineTarget struct {
	Name   string          `json:"name"`
	PID    int             `json:"pid"`
	Rounds []BaselineRound `json:"rounds"`
	// Medians over rounds, and the spread (max-min)/median of CPU per session.
	CPUPerSession  float64 `json:"cpu_per_session_us"`
	Spread         float64 `json:"spread"`
	SessionsPerSec float64 `json:"sessions_per_sec"`
}

// BaselineReport compares the server at difficulty 0 with the bare servers.
type BaselineReport struct {
	Sessions    int              `json:"sessions_per_round"`
	Concurrency int              `json:"concurrency"`
	Rate        float64          `json:"rate,omitempty"` // paced sessions per second
	Targets     []BaselineTarget `json:"targets"`
	// Ratios of CPU per session, per round (server/oneline), and their median and spread.
	Ratios         []float64 `json:"ratios_vs_oneline"`
	Ratio          float64   `json:"ratio_vs_oneline"`
	RatioSpread    float64   `json:"ratio_spread"`
	RatioExchange  float64   `json:"ratio_vs_exchange"`
	RatioSeed      float64   `json:"ratio_vs_seed"`
	RatioRealSeed  float64   `json:"ratio_vs_seed_real,omitempty"` // against the seed's own server (-seed)
	Bits           int       `json:"bits"`                         // difficulty of powtcp and the seeds
	ExpectedSolveS float64   `json:"expected_solve_s_at_default"`  // 2^(the alg's default bits) / hash rate
	Asymmetry      float64   `json:"asymmetry_d0_cost"`            // ExpectedSolveS / server CPU per session at difficulty 0
}

// Slowloris is the scenario whose held sockets the attackers' table shows
// (loadgen -scenario slowloris).
const Slowloris = "slowloris"

// GateInfo is a run against a gate (loadgen -gate).
type GateInfo struct {
	Upstream string `json:"upstream,omitempty"` // the echo upstream loadgen ran; "" when the gate's own
	Stalled  int    `json:"stalled,omitempty"`  // connections the upstream held stalled when the attack stopped
	// The server's descriptors that are pipes, idle and after the settle:
	// Go's cache of splice pipes, which its garbage collections empty (at
	// the latest its forced one every two minutes), not a leak; the
	// target "fds back to idle" leaves them out and shows them.
	IdlePipes  int `json:"idle_pipes"`
	AfterPipes int `json:"after_pipes"`
}
