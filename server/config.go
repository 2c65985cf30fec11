package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/protocol"
	"github.com/powtcp/powtcp/server/gate"
	"github.com/powtcp/powtcp/server/powserver"
	"github.com/powtcp/powtcp/server/redisstore"
)

// config is everything main needs, from flags and environment variables.
type config struct {
	Addr            string
	AddrFile        string
	AdminAddr       string
	Pprof           bool
	QuotesFile      string
	KeyFile         string
	LogFormat       string
	LogLevel        string
	ShutdownTimeout time.Duration
	ProxyProtocol   bool           // read the client's address from a PROXY protocol header
	TrustedProxies  []netip.Prefix // peers whose header is required and believed
	ProxyTimeout    time.Duration  // deadline of the header
	SpentStore      string         // "memory", or a redis://, rediss://, unix:// or redis+sentinel:// URL
	StoreTimeout    time.Duration  // deadline of each call to a shared store
	WaitReplicas    int            // replicas that must hold a claim before it is served (WAIT)
	Server          powserver.Config
	// Gate relays proven connections to Gate.Upstream when it is set,
	// instead of serving quotes.
	Gate gate.Config
	// explicit names the settings given by flag or environment variable.
	explicit map[string]bool
	// fdNote says how fitDescriptors changed the settings, if it did.
	fdNote string
	// fdBudget is the descriptors client connections may use (0: no limit).
	fdBudget int
}

// setting is one flag and the environment variable that sets its default.
// Flags win over the environment, which wins over the built-in default.
type setting struct {
	flag, env, usage string
	value            flag.Value
	field            string // the powserver.Config field it sets, if any
}

// parseConfig reads args and the environment (through getenv) into a
// config and validates it. Errors name the flag or variable at fault.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	c := config{
		Addr:            ":" + strconv.Itoa(protocol.DefaultPort),
		LogFormat:       "",
		LogLevel:        "info",
		ShutdownTimeout: 30 * time.Second,
		ProxyTimeout:    time.Second,
		SpentStore:      "memory",
		StoreTimeout:    50 * time.Millisecond,
		Server:          powserver.DefaultConfig(),
		Gate:            gate.DefaultConfig(""),
	}
	var key hexKey
	alg := algValue{&c.Server.Alg}
	settings := []setting{
		{"addr", "POWTCP_ADDR", "protocol listen address (HOST and PORT, as in the seed, also work)", (*stringValue)(&c.Addr), ""},
		{"addr-file", "POWTCP_ADDR_FILE", "write the bound listen address to this file once listening (for tests and scripts)", (*stringValue)(&c.AddrFile), ""},
		{"admin-addr", "POWTCP_ADMIN_ADDR", "admin HTTP listen address for /metrics, /healthz, /readyz (off when empty)", (*stringValue)(&c.AdminAddr), ""},
		{"pprof", "PPROF_ENABLED", "serve /debug/pprof/ on the admin address", (*boolValue)(&c.Pprof), ""},
		{"name", "POWTCP_NAME", "service name in the stamps' resource field; replicas share it", (*stringValue)(&c.Server.Name), "Name"},
		{"difficulty", "POW_DIFFICULTY", fmt.Sprintf("base difficulty in leading zero bits, 0..%d (default %d); with -alg equix 0..%d (default %d)",
			powserver.MaxDifficulty, hashcash.SHA256.DefaultBits(), powserver.MaxEquixDifficulty, hashcash.Equix.DefaultBits()), (*intValue)(&c.Server.Difficulty), "Difficulty"},
		{"max-extra-bits", "POW_MAX_EXTRA_BITS", "most bits adaptive difficulty adds under load (0 or -1: off)", (*intValue)(&c.Server.MaxExtraBits), "MaxExtraBits"},
		{"calm-proof-rate", "POW_CALM_PROOF_RATE", "redeemed proofs per second, server-wide, above which each doubling adds a bit for every client", (*floatValue)(&c.Server.CalmProofRate), "CalmProofRate"},
		{"alg", "POW_ALG", "proof of work: sha256; sha1 for the reference hashcash tool; equix for Equi-X, which GPUs hardly speed up", alg, "Alg"},
		{"key-file", "POW_KEY_FILE", "file of challenge MAC keys, hex, one a line: the first mints, all verify (rotation); replicas share it", (*stringValue)(&c.KeyFile), ""},
		{"key", "POW_KEY", "challenge MAC key in hex (prefer -key-file); random per start when unset", &key, "Key"},
		{"challenge-ttl", "POW_CHALLENGE_TTL", "how long a challenge stays redeemable", (*durationValue)(&c.Server.ChallengeTTL), "ChallengeTTL"},
		{"client-hash-rate", "POW_CLIENT_HASH_RATE", fmt.Sprintf("hashes/s (with -alg equix: Equi-X solutions/s, default %g) of the slowest client the solve window is sized for",
			powserver.DefaultConfigFor(hashcash.Equix).ClientHashRate), (*floatValue)(&c.Server.ClientHashRate), "ClientHashRate"},
		{"min-solve-window", "POW_MIN_SOLVE_WINDOW", "least time a calm server gives a client to answer", (*durationValue)(&c.Server.MinSolveWindow), "MinSolveWindow"},
		{"answer-window", "POW_ANSWER_WINDOW", "how long a connection is held for its answer under load; slower clients solve off the connection and reconnect", (*durationValue)(&c.Server.AnswerWindow), "AnswerWindow"},
		{"write-timeout", "POWTCP_WRITE_TIMEOUT", "deadline of each write to a client", (*durationValue)(&c.Server.WriteTimeout), "WriteTimeout"},
		{"max-conns", "POWTCP_MAX_CONNS", "connections in flight (fitted under RLIMIT_NOFILE less 64); when full a silent handshake is closed", (*intValue)(&c.Server.MaxConns), "MaxConns"},
		{"max-conns-per-ip", "POWTCP_MAX_CONNS_PER_IP", "connections in flight per client address (IPv6: per /64)", (*intValue)(&c.Server.MaxConnsPerIP), "MaxConnsPerIP"},
		{"replay-cache-size", "POWTCP_REPLAY_CACHE_SIZE", "redeemed challenges remembered until they expire", (*intValue)(&c.Server.ReplayCacheSize), "ReplayCacheSize"},
		{"proxy-protocol", "POWTCP_PROXY_PROTOCOL", "take the client's address from a PROXY protocol (v1 or v2) header sent by a -trusted-proxies peer", (*boolValue)(&c.ProxyProtocol), ""},
		{"trusted-proxies", "POWTCP_TRUSTED_PROXIES", "comma-separated CIDRs of the load balancers that send PROXY headers: required from them, refused from anyone else", (*prefixList)(&c.TrustedProxies), ""},
		{"proxy-header-timeout", "POWTCP_PROXY_HEADER_TIMEOUT", "deadline of a PROXY protocol header", (*durationValue)(&c.ProxyTimeout), ""},
		{"spent-store", "POWTCP_SPENT_STORE", "where redeemed challenges are recorded: memory, or redis://[user:password@]host:port/db, rediss://... (TLS), unix:///path (Redis or Valkey, shared by replicas), or redis+sentinel://[[user]:password@]host:port[,host:port...]/master[/db] (the primary of a Sentinel set, followed through failovers)", (*stringValue)(&c.SpentStore), ""},
		{"spent-store-timeout", "POWTCP_SPENT_STORE_TIMEOUT", "deadline of each call to a shared spent store; past it the redemption is refused (busy)", (*durationValue)(&c.StoreTimeout), ""},
		{"spent-store-wait-replicas", "POWTCP_SPENT_STORE_WAIT_REPLICAS", "replicas of the shared spent store that must hold a claim (WAIT) before the redemption is served, else it is refused (busy); 0: do not wait, a failover may lose the last claims", (*intValue)(&c.WaitReplicas), ""},
		{"upstream", "POWTCP_UPSTREAM", "be a gate: relay every connection whose proof checked out to this host:port (SSH, a database, ...) instead of serving quotes", (*stringValue)(&c.Gate.Upstream), ""},
		{"upstream-name", "POWTCP_UPSTREAM_NAME", "what the PROCEED line tells clients the upstream is (one word)", (*stringValue)(&c.Gate.Name), ""},
		{"upstream-dial-timeout", "POWTCP_UPSTREAM_DIAL_TIMEOUT", "deadline of the upstream's dial; past it the client is told ERROR upstream", (*durationValue)(&c.Gate.DialTimeout), ""},
		{"upstream-proxy-protocol", "POWTCP_UPSTREAM_PROXY_PROTOCOL", "send the upstream a PROXY protocol v2 header with the client's address", (*boolValue)(&c.Gate.ProxyProtocol), ""},
		{"tunnel-idle-timeout", "POWTCP_TUNNEL_IDLE_TIMEOUT", "end a tunnel in which no byte moved either way for this long", (*durationValue)(&c.Gate.IdleTimeout), ""},
		{"tunnel-max-lifetime", "POWTCP_TUNNEL_MAX_LIFETIME", "end a tunnel this long after it opened", (*durationValue)(&c.Gate.MaxLifetime), ""},
		{"max-tunnels", "POWTCP_MAX_TUNNELS", "tunnels open at once (two descriptors each, kept out of -max-conns' budget)", (*intValue)(&c.Gate.MaxTunnels), ""},
		{"max-tunnels-per-ip", "POWTCP_MAX_TUNNELS_PER_IP", "tunnels open at once per client address (IPv6: per /64)", (*intValue)(&c.Gate.MaxTunnelsPerIP), ""},
		{"quotes", "QUOTES_FILE", "quotes file, one 'text|author' per line (the embedded collection when empty)", (*stringValue)(&c.QuotesFile), ""},
		{"shutdown-timeout", "POWTCP_SHUTDOWN_TIMEOUT", "how long shutdown waits for sessions whose answer arrived", (*durationValue)(&c.ShutdownTimeout), ""},
		{"log-format", "LOG_FORMAT", "json or console (default: console on a terminal, json otherwise)", (*stringValue)(&c.LogFormat), ""},
		{"log-level", "LOG_LEVEL", "debug, info, warn or error", (*stringValue)(&c.LogLevel), ""},
	}

	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: server [flags]\n\nServes quotes to clients that solve a hashcash proof of work, or, with\n-upstream, relays their connections to a TCP service behind it (the gate).\nEach flag's environment variable sets its default.\n\n")
		for _, s := range settings {
			fmt.Fprintf(stderr, "  -%s (%s, default %q)\n    \t%s\n", s.flag, s.env, s.value.String(), s.usage)
		}
	}
	var errs []error
	// The seed's HOST and PORT still work.
	if host, port := getenv("HOST"), getenv("PORT"); host != "" || port != "" {
		if port == "" {
			port = strconv.Itoa(protocol.DefaultPort)
		}
		c.Addr = net.JoinHostPort(host, port)
	}
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			if err := s.value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", s.env, v, err))
			}
		}
		fs.Var(s.value, s.flag, s.usage)
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.explicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })
	for _, s := range settings {
		if getenv(s.env) != "" {
			c.explicit[s.flag] = true
		}
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	// The defaults that depend on the proof of work, where not set.
	d := powserver.DefaultConfigFor(c.Server.Alg)
	if !c.explicit["difficulty"] {
		c.Server.Difficulty = d.Difficulty
	}
	if !c.explicit["client-hash-rate"] {
		c.Server.ClientHashRate = d.ClientHashRate
	}
	c.Server.Key = key
	if c.KeyFile != "" {
		if c.explicit["key"] {
			return c, errors.New("-key and -key-file exclude each other")
		}
		keys, err := readKeyFile(c.KeyFile)
		if err != nil {
			return c, err
		}
		c.Server.Key, c.Server.VerifyKeys = keys[0], keys[1:]
	}
	return c, c.validate(settings)
}

// validate checks c; errors about a powserver.Config field name its flag.
func (c config) validate(settings []setting) error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("-addr %q: %w", c.Addr, err))
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			errs = append(errs, fmt.Errorf("-admin-addr %q: %w", c.AdminAddr, err))
		}
	}
	if c.Pprof && c.AdminAddr == "" {
		errs = append(errs, errors.New("-pprof needs -admin-addr"))
	}
	switch c.LogFormat {
	case "", "json", "console":
	default:
		errs = append(errs, fmt.Errorf("-log-format %q: want json or console", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("-log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	switch {
	case c.ProxyProtocol && len(c.TrustedProxies) == 0:
		errs = append(errs, errors.New("-proxy-protocol needs -trusted-proxies: the peers whose headers to believe"))
	case !c.ProxyProtocol && len(c.TrustedProxies) > 0:
		errs = append(errs, errors.New("-trusted-proxies needs -proxy-protocol"))
	}
	if c.ProxyTimeout <= 0 {
		errs = append(errs, fmt.Errorf("-proxy-header-timeout %v: want a positive duration", c.ProxyTimeout))
	}
	switch {
	case c.SpentStore == "memory":
	case strings.HasPrefix(c.SpentStore, "redis://"), strings.HasPrefix(c.SpentStore, "rediss://"), strings.HasPrefix(c.SpentStore, "unix://"):
	case strings.HasPrefix(c.SpentStore, redisstore.SentinelScheme):
		if _, err := redisstore.ParseSentinelURL(c.SpentStore); err != nil {
			errs = append(errs, fmt.Errorf("-spent-store (a %s URL): %w", redisstore.SentinelScheme, err))
		}
	default:
		errs = append(errs, fmt.Errorf("-spent-store %q: want memory, or a redis://, rediss://, unix:// or %s URL", c.SpentStore, redisstore.SentinelScheme))
	}
	switch {
	case c.WaitReplicas < 0:
		errs = append(errs, fmt.Errorf("-spent-store-wait-replicas %d: want 0 or more", c.WaitReplicas))
	case c.WaitReplicas > 0 && c.SpentStore == "memory":
		errs = append(errs, errors.New("-spent-store-wait-replicas needs a shared -spent-store"))
	}
	if c.StoreTimeout <= 0 {
		errs = append(errs, fmt.Errorf("-spent-store-timeout %v: want a positive duration", c.StoreTimeout))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("-shutdown-timeout %v: want a positive duration", c.ShutdownTimeout))
	}
	if c.Gate.Upstream != "" {
		if err := c.Gate.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("gate (-upstream and the tunnel flags): %w", err))
		}
		if c.QuotesFile != "" {
			errs = append(errs, errors.New("-quotes and -upstream exclude each other: a gate serves no quotes"))
		}
	}
	if err := c.Server.Validate(); err != nil {
		flags := map[string]string{}
		for _, s := range settings {
			if s.field != "" {
				flags[s.field] = "-" + s.flag
			}
		}
		all := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			all = j.Unwrap()
		}
		for _, err := range all {
			var fe *powserver.FieldError
			if errors.As(err, &fe) && flags[fe.Field] != "" {
				err = fmt.Errorf("%s %v: want %s", flags[fe.Field], fe.Value, fe.Want)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readKeyFile reads the MAC keys of a key file: one key in hex a line,
// the first minting and every one verifying (key rotation); blank lines and
// lines starting with '#' are skipped.
func readKeyFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-key-file: %w", err)
	}
	var keys [][]byte
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var k hexKey
		if err := k.Set(line); err != nil {
			return nil, fmt.Errorf("-key-file %s: line %d: %w", path, i+1, err)
		}
		keys = append(keys, k)
	}
	switch {
	case len(keys) == 0:
		return nil, fmt.Errorf("-key-file %s: no key in it", path)
	case len(keys) > 1+hashcash.MaxVerifyKeys:
		return nil, fmt.Errorf("-key-file %s: %d keys, want at most %d (one minting, the rest being retired)", path, len(keys), 1+hashcash.MaxVerifyKeys)
	}
	return keys, nil
}

// flag.Value implementations that the standard library keeps unexported.
type (
	stringValue   string
	boolValue     bool
	intValue      int
	floatValue    float64
	durationValue time.Duration
	hexKey        []byte
	algValue      struct{ p *hashcash.Alg }
)

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	*v = boolValue(b)
	return err
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("not a number")
	}
	*v = floatValue(f)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration (e.g. 30s, 1m)")
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }

func (v *hexKey) Set(s string) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return errors.New("not hex")
	}
	if len(b) < 16 {
		return fmt.Errorf("%d bytes: want at least 16", len(b))
	}
	*v = b
	return nil
}
func (v *hexKey) String() string {
	if len(*v) == 0 {
		return ""
	}
	return "(set)"
}

// prefixList is a comma-separated list of CIDR prefixes; a bare address
// is its own /32 or /128.
type prefixList []netip.Prefix

func (v *prefixList) Set(s string) error {
	var ps []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return fmt.Errorf("%q: not a CIDR or an address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		ps = append(ps, p.Masked())
	}
	*v = ps
	return nil
}

func (v *prefixList) String() string {
	var ss []string
	for _, p := range *v {
		ss = append(ss, p.String())
	}
	return strings.Join(ss, ",")
}

func (v algValue) Set(s string) error {
	a, err := hashcash.ParseAlg(s)
	if err != nil {
		return err
	}
	*v.p = a
	return nil
}
func (v algValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

// fdReserve is what the descriptor budget keeps for everything but client
// connections: standard streams, the listeners, the admin server and its
// clients, the quotes and key files, the store's connections, the runtime's
// poller.
const fdReserve = 64

// tunnelDescriptors is what a gate's open tunnels may hold at most: two
// descriptors a tunnel (the client's and the upstream's). Tunnels are
// detached from the handshake slots, so the budget of -max-conns leaves
// them out: open tunnels never starve new handshakes of descriptors.
func (c *config) tunnelDescriptors() int {
	if c.Gate.Upstream == "" {
		return 0
	}
	return 2 * c.Gate.MaxTunnels
}

// fitDescriptors fits -max-conns under the process's descriptor limit
// (RLIMIT_NOFILE as Go raised it at start) less fdReserve and the
// tunnels' descriptors, so that the
// connection cap, which closes silent handshakes to make room, binds before
// accept runs out of descriptors. Set explicitly above the budget, it is
// an error; as the default, it is lowered and the returned note says so.
func fitDescriptors(c *config, limit uint64) (note string, err error) {
	if limit == 0 || limit > math.MaxInt32 {
		return "", nil // unlimited, or unknown
	}
	budget := int(limit) - fdReserve - c.tunnelDescriptors()
	c.fdBudget = budget
	if c.Server.MaxConns <= budget {
		return "", nil
	}
	if budget < 1 {
		return "", fmt.Errorf("the file descriptor limit (RLIMIT_NOFILE) is %d: at least %d needed (%d kept for the process, %d for -max-tunnels); raise it (ulimit -n) or lower -max-tunnels",
			limit, fdReserve+c.tunnelDescriptors()+1, fdReserve, c.tunnelDescriptors())
	}
	if c.explicit["max-conns"] {
		return "", fmt.Errorf("-max-conns %d: above the file descriptor budget %d (RLIMIT_NOFILE %d less %d for listeners, logs and the store); raise the limit (ulimit -n) or lower -max-conns",
			c.Server.MaxConns, budget, limit, fdReserve)
	}
	note = fmt.Sprintf("-max-conns lowered from %d to %d to fit the file descriptor limit (RLIMIT_NOFILE %d less %d); raise the limit (ulimit -n) for more",
		c.Server.MaxConns, budget, limit, fdReserve)
	c.Server.MaxConns = budget
	if c.Server.MaxConnsPerIP > budget {
		if c.explicit["max-conns-per-ip"] {
			return "", fmt.Errorf("-max-conns-per-ip %d: above the connection cap %d that the file descriptor limit allows", c.Server.MaxConnsPerIP, budget)
		}
		c.Server.MaxConnsPerIP = budget
	}
	return note, nil
}
