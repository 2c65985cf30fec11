package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// Scenario names, as given to -scenario.
const (
	scHonest    = "honest"
	scSlowloris = report.Slowloris // the report shows its held sockets
	scGarbage   = "garbage"
	scWrongWork = "wrongwork"
	scStorm     = "storm"
	scReplay    = "replayfill"
	scInflate   = "inflate"
	scRedial    = "redial"
	scSolve     = "solveflood"
	// Gate mode only (-gate).
	scTunnelHold = "tunnelhold"
	scTrickle    = "trickle"
	scStall      = "stall"
)

// allScenarios run against any server; gateScenarios against a gate only.
var (
	allScenarios  = []string{scHonest, scSlowloris, scGarbage, scWrongWork, scStorm, scReplay, scInflate, scRedial, scSolve}
	gateScenarios = []string{scTunnelHold, scTrickle, scStall}
)

// config is one run of the load generator.
type config struct {
	// Target: a running server, or a binary to start.
	Addr         string   // server address when not spawning
	PID          int      // server process for /proc readings; 0: none
	StorePID     int      // the shared spent store's process, for its CPU per session; 0: none
	MetricsURL   string   // server's /metrics; "" when unknown
	Spawn        string   // server binary to start on 127.0.0.1:0
	ServerArgs   []string // extra arguments for the spawned server (after --)
	ServerCPUs   string   // taskset CPU list for spawned processes; "" leaves them free
	ServerLog    string   // file for the spawned server's log; "" discards it
	ServerNoFile uint64   // RLIMIT_NOFILE of the spawned server; 0 leaves it

	Scenarios []string
	Unloaded  time.Duration // honest phase without attackers
	Duration  time.Duration // honest phase under attack
	Ramp      time.Duration // longest wait for the attackers to reach full strength
	Settle    time.Duration // idle reading before, and wait for the server to settle after, the attack
	Calibrate time.Duration // how long to measure the solver's hash rate

	Honest         int           // concurrent honest clients
	HonestWorkers  int           // solver goroutines per honest session
	HonestIPs      int           // source addresses the honest clients rotate through
	SessionTimeout time.Duration // limit of one honest session
	HonestDelay    time.Duration // honest clients answer no sooner than this after the challenge (slow solvers)

	Slowloris      int // sockets the slowloris attackers hold
	SlowlorisPerIP int // sockets per slowloris source address
	Garbage        int // concurrent garbage senders
	WrongWork      int // concurrent wrong-work senders
	Storm          int // concurrent connect/close stormers
	ReplayFill     int // concurrent redeemers from one address (replayfill)
	InflateBurst   int // connections one address opens at once before its probe (inflate)
	Redial         int // sockets of the re-dial flood (redial)
	RedialIPs      int // source addresses of the re-dial flood
	SolveFlood     int // concurrent solving redeemers (solveflood)
	SolveFloodIPs  int // source addresses of the solving flood

	// Gate mode: the server relays to an upstream (server -upstream).
	Gate          bool          // the server is a gate; spawned ones get an echo upstream run here
	TunnelHold    int           // tunnels held idle (tunnelhold)
	TunnelHoldIPs int           // source addresses of the held tunnels
	Trickle       int           // tunnels trickling bytes (trickle)
	TrickleEvery  time.Duration // between two trickled bytes
	Stall         int           // concurrent clients of the stall scenario
	StallIPs      int           // their source addresses
	echo          *echoUpstream // the upstream of an in-process gate (tests); nil: started with -spawn

	ChallengeTTL time.Duration // the server's challenge lifetime (spawned servers get it)
	Alg          hashcash.Alg  // the server's proof of work (spawned servers get it); calibrated for

	Baseline        bool // compare CPU per session with a bare TCP server instead
	BaselineN       int  // sessions per target and round
	BaselineC       int  // concurrent baseline sessions
	BaselineRounds  int
	BaselineRate    float64       // sessions per second; 0: as fast as the clients go
	BaselineBits    int           // difficulty of powtcp and the seeds in -baseline mode
	BaselineBin     string        // command baseline (tools/baseline); "": found next to this executable
	Seed            string        // the seed project's server binary, a further baseline target; "": none
	BaselineTimeout time.Duration // limit of each baseline measurement

	Summarize bool     // print medians over the -json reports in Files instead
	Files     []string // reports to summarize

	Goals *report.Goals // the targets the report is judged by; nil: not judged
	JSON  string        // write the report here too
	Plot  string        // draw the run's timeline here as SVG; "": none
	// timeline records the run second by second (set by loadtest).
	timeline *timeline
	Timeout  time.Duration // limit of the whole run
	NoFile   uint64        // raise RLIMIT_NOFILE to this; 0 leaves it
	Verbose  bool
	Args     []string // the command line, for the report
}

func (c config) has(scenario string) bool { return slices.Contains(c.Scenarios, scenario) }

// alg is the server's proof of work: c.Alg, SHA256 when zero.
func (c config) alg() hashcash.Alg {
	if c.Alg == 0 {
		return hashcash.SHA256
	}
	return c.Alg
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	c := config{Args: append([]string{"loadgen"}, args...)}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: loadgen [flags] [-- server flags]\n       loadgen -summarize report.json...\n\n"+
			"Attacks a powtcp server on loopback and reports how it holds up.\n"+
			"Arguments after -- go to the server started with -spawn.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Addr, "addr", "", "address of a running server (127.0.0.0/8 only)")
	fs.IntVar(&c.PID, "pid", 0, "process id of the running server, for RSS, CPU and fds from /proc")
	fs.IntVar(&c.StorePID, "store-pid", 0, "process id of the server's shared spent store (valkey-server, redis-server): its CPU per honest session from /proc")
	fs.StringVar(&c.MetricsURL, "metrics", "", "the running server's metrics URL, e.g. http://127.0.0.1:9090/metrics")
	fs.StringVar(&c.Spawn, "spawn", "", "server binary to start on 127.0.0.1:0 (instead of -addr)")
	fs.StringVar(&c.ServerCPUs, "server-cpus", "", "pin spawned servers (and the baseline) to these CPUs with taskset, e.g. 0")
	fs.StringVar(&c.ServerLog, "server-log", "", "write the spawned server's log to this file")
	fs.Uint64Var(&c.ServerNoFile, "server-nofile", 0, "run the spawned server with this RLIMIT_NOFILE (ulimit -n), e.g. below its -max-conns; 0 leaves it")
	scen := fs.String("scenario", "honest,slowloris,garbage,wrongwork,storm", "comma-separated: "+strings.Join(allScenarios, ", ")+
		"; with -gate also "+strings.Join(gateScenarios, ", "))
	fs.DurationVar(&c.Unloaded, "unloaded", 0, "length of the unloaded honest phase (default: -duration)")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "length of the honest phase under attack")
	fs.DurationVar(&c.Ramp, "ramp", 30*time.Second, "longest wait for the attackers to reach full strength")
	fs.DurationVar(&c.Calibrate, "calibrate", time.Second, "how long to measure the hash rate of one solver goroutine")
	fs.DurationVar(&c.Settle, "settle", 2*time.Second, "idle time measured before the phases, and waited after the attack before the last reading")
	fs.IntVar(&c.Honest, "honest", 2, "concurrent honest clients")
	fs.IntVar(&c.HonestWorkers, "honest-workers", 1, "solver goroutines per honest session")
	fs.IntVar(&c.HonestIPs, "honest-ips", 1000, "source addresses (127.1.x.y) the honest clients rotate through")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", 2*time.Minute, "limit of one honest session")
	fs.DurationVar(&c.HonestDelay, "honest-delay", 0, "honest clients answer no sooner than this after their challenge: slow solvers")
	fs.IntVar(&c.Slowloris, "slowloris", 10000, "sockets the slowloris attackers hold")
	fs.IntVar(&c.SlowlorisPerIP, "slowloris-per-ip", 60, "slowloris sockets per source address (stay under the server's per-IP cap)")
	fs.IntVar(&c.Garbage, "garbage", 8, "concurrent garbage senders")
	fs.IntVar(&c.WrongWork, "wrongwork", 8, "concurrent wrong-work senders")
	fs.IntVar(&c.Storm, "storm", 4, "concurrent connect/close stormers")
	fs.IntVar(&c.ReplayFill, "replayfill", 8, "concurrent redeemers from one address, filling the replay cache (replayfill)")
	fs.IntVar(&c.InflateBurst, "inflate-burst", 1300, "connections one address opens at once before opening a silent one (inflate)")
	fs.IntVar(&c.Redial, "redial", 3000, "sockets of the re-dial flood, each dialled again about 300 ms after the server refuses or closes it, never answering (redial)")
	fs.IntVar(&c.RedialIPs, "redial-ips", 5, "source addresses of the re-dial flood (redial)")
	fs.IntVar(&c.SolveFlood, "solveflood", 8, "concurrent solvers redeeming honest solutions as fast as they can (solveflood)")
	fs.IntVar(&c.SolveFloodIPs, "solveflood-ips", 256, "source addresses of the solving flood (solveflood)")
	fs.BoolVar(&c.Gate, "gate", false, "the server is a gate (server -upstream): honest clients open a tunnel and make one echo round trip through it; "+
		"with -spawn loadgen runs the echo upstream and passes -upstream, with -addr the gate's upstream must be an echo service")
	fs.IntVar(&c.TunnelHold, "tunnelhold", 36, "tunnels proven honestly and then held idle, re-opened when closed (tunnelhold, -gate); over the server's -max-tunnels-per-ip times -tunnelhold-ips, the rest retry every 2s or so")
	fs.IntVar(&c.TunnelHoldIPs, "tunnelhold-ips", 2, "source addresses of the held tunnels (tunnelhold)")
	fs.IntVar(&c.Trickle, "trickle", 8, "tunnels that trickle a byte every -trickle-every until the gate's lifetime ends them (trickle, -gate)")
	fs.DurationVar(&c.TrickleEvery, "trickle-every", 500*time.Millisecond, "between two trickled bytes (trickle)")
	fs.IntVar(&c.Stall, "stall", 4, "concurrent clients whose every other tunnel stalls the upstream, one tunnel a second or so each (stall, -gate)")
	fs.IntVar(&c.StallIPs, "stall-ips", 4, "source addresses of the stall scenario's clients (stall)")
	fs.DurationVar(&c.ChallengeTTL, "challenge-ttl", 60*time.Second, "the server's -challenge-ttl (passed to a spawned server); expired stamps are sent after it")
	alg := fs.String("alg", hashcash.SHA256.String(), "the server's -alg (passed to a spawned server; name a running server's): "+hashcash.AlgNames()+"; the solver is calibrated for it")
	fs.BoolVar(&c.Baseline, "baseline", false, "measure CPU per session at difficulty 0 against a bare TCP server instead (needs -spawn)")
	fs.IntVar(&c.BaselineN, "baseline-n", 20000, "sessions per target and round in -baseline mode")
	fs.IntVar(&c.BaselineC, "baseline-c", 8, "concurrent sessions in -baseline mode")
	fs.IntVar(&c.BaselineRounds, "baseline-rounds", 3, "rounds in -baseline mode; the report gives medians")
	fs.Float64Var(&c.BaselineRate, "baseline-rate", 0, "pace -baseline sessions to this many per second (0: as fast as possible), to see the cost per session of a quiet server")
	fs.IntVar(&c.BaselineBits, "baseline-bits", 0, "difficulty of powtcp (extra bits off) and of the seed servers in -baseline mode: a multiple of 8, as the seed counts whole zero bytes")
	fs.StringVar(&c.BaselineBin, "baseline-bin", "", "the bare servers' command, tools/baseline, for -baseline (default: baseline next to this executable)")
	fs.StringVar(&c.Seed, "seed", "", "the seed project's server binary (theoptz/pow-tcp cmd/server, built outside this repository): -baseline measures it too, at -baseline-bits")
	fs.DurationVar(&c.BaselineTimeout, "baseline-timeout", time.Minute, "limit of each baseline measurement")
	fs.BoolVar(&c.Summarize, "summarize", false, "print medians, minima and maxima over the -json reports named as arguments, per kind of run")
	fs.StringVar(&c.JSON, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&c.Plot, "plot", "", "draw the run second by second (honest served and p99, refusals, attackers' connections, difficulty, handshakes) as SVG to this file")
	targets := fs.String("targets", "", "JSON file of the pass/fail targets (default: "+report.GoalsFile+" in this directory or a parent)")
	fs.DurationVar(&c.Timeout, "timeout", 20*time.Minute, "limit of the whole run")
	fs.Uint64Var(&c.NoFile, "nofile", 1<<20, "raise RLIMIT_NOFILE (soft and hard) to this; 0 leaves it")
	fs.BoolVar(&c.Verbose, "v", false, "debug logging")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.ServerArgs = fs.Args()
	if c.Summarize {
		c.Files, c.ServerArgs = c.ServerArgs, nil
		if len(c.Files) == 0 {
			return c, errors.New("-summarize: name the -json reports to summarize")
		}
		return c, nil
	}
	if *scen != "" {
		c.Scenarios = strings.Split(*scen, ",")
	}
	a, err := hashcash.ParseAlg(*alg)
	if err != nil {
		return c, fmt.Errorf("-alg: %w", err)
	}
	c.Alg = a
	if c.Unloaded == 0 {
		c.Unloaded = c.Duration
	}
	g, err := report.LoadGoals(*targets)
	if err != nil {
		return c, err
	}
	c.Goals = g
	return c, c.validate()
}

func (c config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case c.Spawn == "" && c.Addr == "":
		bad("want -addr of a running server or -spawn PATH")
	case c.Spawn != "" && c.Addr != "":
		bad("-addr and -spawn exclude each other")
	case c.Addr != "":
		if err := checkLoopback(c.Addr); err != nil {
			bad("-addr: %v", err)
		}
		if len(c.ServerArgs) > 0 {
			bad("server arguments %q need -spawn", c.ServerArgs)
		}
		if c.Baseline {
			bad("-baseline needs -spawn: it starts the server at difficulty 0 itself")
		}
	}
	if c.MetricsURL != "" && !strings.HasPrefix(c.MetricsURL, "http://127.") {
		bad("-metrics %q: want http://127.x.y.z:port/metrics", c.MetricsURL)
	}
	for _, s := range c.Scenarios {
		switch {
		case slices.Contains(gateScenarios, s) && !c.Gate:
			bad("-scenario %s attacks a gate: add -gate (with -spawn, or -addr of a gate in front of an echo service)", s)
		case !slices.Contains(allScenarios, s) && !slices.Contains(gateScenarios, s):
			bad("-scenario %q: want some of %s (with -gate also %s)", s, strings.Join(allScenarios, ","), strings.Join(gateScenarios, ","))
		}
	}
	if c.Gate && c.Baseline {
		bad("-gate and -baseline exclude each other")
	}
	if len(c.Scenarios) == 0 && !c.Baseline {
		bad("-scenario: want at least one")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"-duration", c.Duration}, {"-unloaded", c.Unloaded}, {"-ramp", c.Ramp}, {"-settle", c.Settle}, {"-calibrate", c.Calibrate},
		{"-session-timeout", c.SessionTimeout}, {"-challenge-ttl", c.ChallengeTTL}, {"-trickle-every", c.TrickleEvery},
		{"-baseline-timeout", c.BaselineTimeout}, {"-timeout", c.Timeout}} {
		if d.v <= 0 {
			bad("%s %v: want a positive duration", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name   string
		v, min int
	}{{"-honest", c.Honest, 1}, {"-honest-workers", c.HonestWorkers, 1}, {"-honest-ips", c.HonestIPs, 1},
		{"-slowloris", c.Slowloris, 0}, {"-slowloris-per-ip", c.SlowlorisPerIP, 1},
		{"-garbage", c.Garbage, 0}, {"-wrongwork", c.WrongWork, 0}, {"-storm", c.Storm, 0},
		{"-replayfill", c.ReplayFill, 0}, {"-inflate-burst", c.InflateBurst, 1},
		{"-redial", c.Redial, 0}, {"-redial-ips", c.RedialIPs, 1}, {"-solveflood", c.SolveFlood, 0}, {"-solveflood-ips", c.SolveFloodIPs, 1},
		{"-tunnelhold", c.TunnelHold, 0}, {"-tunnelhold-ips", c.TunnelHoldIPs, 1}, {"-trickle", c.Trickle, 0}, {"-stall", c.Stall, 0}, {"-stall-ips", c.StallIPs, 1},
		{"-baseline-n", c.BaselineN, 1}, {"-baseline-c", c.BaselineC, 1}, {"-baseline-rounds", c.BaselineRounds, 1}} {
		if n.v < n.min {
			bad("%s %d: want at least %d", n.name, n.v, n.min)
		}
	}
	if c.HonestDelay < 0 {
		bad("-honest-delay %v: want 0 or more", c.HonestDelay)
	}
	if c.ServerNoFile != 0 && c.Spawn == "" {
		bad("-server-nofile needs -spawn")
	}
	if c.BaselineBits < 0 || c.BaselineBits > 24 || c.BaselineBits%8 != 0 {
		bad("-baseline-bits %d: want 0, 8, 16 or 24 (the seed counts whole zero bytes)", c.BaselineBits)
	}
	if c.Seed != "" && !c.Baseline {
		bad("-seed needs -baseline")
	}
	if c.BaselineBin != "" && !c.Baseline {
		bad("-baseline-bin needs -baseline")
	}
	if c.BaselineRate < 0 {
		bad("-baseline-rate %v: want 0 or more", c.BaselineRate)
	}
	if c.HonestIPs > 60000 {
		bad("-honest-ips %d: want at most 60000", c.HonestIPs)
	}
	if c.Slowloris > 100000 {
		bad("-slowloris %d: want at most 100000", c.Slowloris)
	}
	return errors.Join(errs...)
}

// checkLoopback refuses addresses outside 127.0.0.0/8: the tool attacks
// loopback only.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: want an IPv4 address in 127.0.0.0/8", addr)
	}
	return nil
}
