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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/powflag"
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
	AllowFile       string // more allow-listed networks, one a line; re-read on SIGHUP
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

// setting is a flag's environment variable, which sets the flag unless the
// command line does, and, for a flag that sets a powserver.Config field, a
// pointer to that field: Config.Validate's errors about it name the flag.
type setting struct {
	flag, env string
	field     any // points into config.Server; nil for none
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
	// The seed's HOST and PORT still work.
	if host, port := getenv("HOST"), getenv("PORT"); host != "" || port != "" {
		if port == "" {
			port = strconv.Itoa(protocol.DefaultPort)
		}
		c.Addr = net.JoinHostPort(host, port)
	}
	var key hexKey
	s := &c.Server
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", c.Addr, "protocol listen address (HOST and PORT, as in the seed, also work)")
	fs.StringVar(&c.AddrFile, "addr-file", "", "write the bound listen address to this file once listening (for tests and scripts)")
	fs.StringVar(&c.AdminAddr, "admin-addr", "", "admin HTTP listen address for /metrics, /healthz, /readyz (off when empty)")
	fs.BoolVar(&c.Pprof, "pprof", false, "serve /debug/pprof/ on the admin address")
	fs.StringVar(&s.Name, "name", s.Name, "service name in the stamps' resource field; replicas share it")
	difficulty := powflag.DeclareDifficulty(fs, &s.Difficulty, s.Difficulty, "base difficulty")
	fs.IntVar(&s.MaxExtraBits, "max-extra-bits", s.MaxExtraBits, "most bits adaptive difficulty adds under load (0 or -1: off)")
	fs.Float64Var(&s.CalmProofRate, "calm-proof-rate", s.CalmProofRate, "redeemed proofs per second, server-wide, above which each doubling adds a bit for every client")
	fs.TextVar(&s.Alg, "alg", s.Alg, "proof of work: sha256; sha1 for the reference hashcash tool; equix for Equi-X, which GPUs hardly speed up")
	fs.StringVar(&c.KeyFile, "key-file", "", "file of challenge MAC keys, hex, one a line: the first mints, all verify (rotation); replicas share it")
	fs.Var(&key, "key", "challenge MAC key in hex (prefer -key-file); random per start when unset")
	fs.DurationVar(&s.ChallengeTTL, "challenge-ttl", s.ChallengeTTL, "how long a challenge stays redeemable")
	fs.Float64Var(&s.ClientHashRate, "client-hash-rate", s.ClientHashRate, fmt.Sprintf("hashes/s (with -alg equix: Equi-X solutions/s, default %g) of the slowest client the solve window is sized for",
		powserver.DefaultConfigFor(hashcash.Equix).ClientHashRate))
	fs.DurationVar(&s.MinSolveWindow, "min-solve-window", s.MinSolveWindow, "least time a calm server gives a client to answer")
	fs.DurationVar(&s.AnswerWindow, "answer-window", s.AnswerWindow, "how long a connection is held for its answer under load; slower clients solve off the connection and reconnect")
	fs.DurationVar(&s.WriteTimeout, "write-timeout", s.WriteTimeout, "deadline of each write to a client")
	fs.IntVar(&s.MaxConns, "max-conns", s.MaxConns, "connections in flight (fitted under RLIMIT_NOFILE less 64); when full a silent handshake is closed")
	fs.IntVar(&s.MaxConnsPerIP, "max-conns-per-ip", s.MaxConnsPerIP, "connections in flight per client address (IPv6: per /64)")
	fs.IntVar(&s.ReplayCacheSize, "replay-cache-size", s.ReplayCacheSize, "redeemed challenges remembered until they expire")
	fs.BoolVar(&c.ProxyProtocol, "proxy-protocol", false, "take the client's address from a PROXY protocol (v1 or v2) header sent by a -trusted-proxies peer")
	fs.Var((*prefixList)(&c.TrustedProxies), "trusted-proxies", "comma-separated CIDRs of the load balancers that send PROXY headers: required from them, refused from anyone else")
	fs.DurationVar(&c.ProxyTimeout, "proxy-header-timeout", c.ProxyTimeout, "deadline of a PROXY protocol header")
	fs.StringVar(&c.SpentStore, "spent-store", c.SpentStore, "where redeemed challenges are recorded: memory, or redis://[user:password@]host:port/db, rediss://... (TLS), unix:///path (Redis or Valkey, shared by replicas), or redis+sentinel://[[user]:password@]host:port[,host:port...]/master[/db] (the primary of a Sentinel set, followed through failovers)")
	fs.DurationVar(&c.StoreTimeout, "spent-store-timeout", c.StoreTimeout, "deadline of each call to a shared spent store; past it the redemption is refused (busy)")
	fs.IntVar(&c.WaitReplicas, "spent-store-wait-replicas", 0, "replicas of the shared spent store that must hold a claim (WAIT) before the redemption is served, else it is refused (busy); 0: do not wait, a failover may lose the last claims")
	fs.Var((*prefixList)(&c.Server.AllowNetworks), "allow-networks", "comma-separated CIDRs whose clients pay the base difficulty only and are never evicted for a stranger (the PROXY header's address when -proxy-protocol)")
	fs.StringVar(&c.AllowFile, "allow-networks-file", "", "file of further allow-listed CIDRs, one a line ('#' starts a comment); re-read on SIGHUP")
	fs.BoolVar(&c.Server.AllowFree, "allow-free", false, "allow-listed clients solve a difficulty-0 challenge (no work)")
	fs.StringVar(&c.Gate.Upstream, "upstream", "", "be a gate: relay every connection whose proof checked out to this host:port (SSH, a database, ...) instead of serving quotes")
	fs.StringVar(&c.Gate.Name, "upstream-name", c.Gate.Name, "what the PROCEED line tells clients the upstream is (one word)")
	fs.DurationVar(&c.Gate.DialTimeout, "upstream-dial-timeout", c.Gate.DialTimeout, "deadline of the upstream's dial; past it the client is told ERROR upstream")
	fs.BoolVar(&c.Gate.ProxyProtocol, "upstream-proxy-protocol", c.Gate.ProxyProtocol, "send the upstream a PROXY protocol v2 header with the client's address")
	fs.DurationVar(&c.Gate.IdleTimeout, "tunnel-idle-timeout", c.Gate.IdleTimeout, "end a tunnel in which no byte moved either way for this long")
	fs.DurationVar(&c.Gate.MaxLifetime, "tunnel-max-lifetime", c.Gate.MaxLifetime, "end a tunnel this long after it opened")
	fs.IntVar(&c.Gate.MaxTunnels, "max-tunnels", c.Gate.MaxTunnels, "tunnels open at once (two descriptors each, kept out of -max-conns' budget)")
	fs.IntVar(&c.Gate.MaxTunnelsPerIP, "max-tunnels-per-ip", c.Gate.MaxTunnelsPerIP, "tunnels open at once per client address (IPv6: per /64)")
	fs.StringVar(&c.QuotesFile, "quotes", "", "quotes file, one 'text|author' per line (the embedded collection when empty)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long shutdown waits for sessions whose answer arrived")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "json or console (default: console on a terminal, json otherwise)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	settings := []setting{
		{"addr", "POWTCP_ADDR", nil},
		{"addr-file", "POWTCP_ADDR_FILE", nil},
		{"admin-addr", "POWTCP_ADMIN_ADDR", nil},
		{"pprof", "PPROF_ENABLED", nil},
		{"name", "POWTCP_NAME", &s.Name},
		{"difficulty", "POW_DIFFICULTY", &s.Difficulty},
		{"max-extra-bits", "POW_MAX_EXTRA_BITS", &s.MaxExtraBits},
		{"calm-proof-rate", "POW_CALM_PROOF_RATE", &s.CalmProofRate},
		{"alg", "POW_ALG", &s.Alg},
		{"key-file", "POW_KEY_FILE", nil},
		{"key", "POW_KEY", &s.Key},
		{"challenge-ttl", "POW_CHALLENGE_TTL", &s.ChallengeTTL},
		{"client-hash-rate", "POW_CLIENT_HASH_RATE", &s.ClientHashRate},
		{"min-solve-window", "POW_MIN_SOLVE_WINDOW", &s.MinSolveWindow},
		{"answer-window", "POW_ANSWER_WINDOW", &s.AnswerWindow},
		{"write-timeout", "POWTCP_WRITE_TIMEOUT", &s.WriteTimeout},
		{"max-conns", "POWTCP_MAX_CONNS", &s.MaxConns},
		{"max-conns-per-ip", "POWTCP_MAX_CONNS_PER_IP", &s.MaxConnsPerIP},
		{"replay-cache-size", "POWTCP_REPLAY_CACHE_SIZE", &s.ReplayCacheSize},
		{"proxy-protocol", "POWTCP_PROXY_PROTOCOL", nil},
		{"trusted-proxies", "POWTCP_TRUSTED_PROXIES", nil},
		{"proxy-header-timeout", "POWTCP_PROXY_HEADER_TIMEOUT", nil},
		{"spent-store", "POWTCP_SPENT_STORE", nil},
		{"spent-store-timeout", "POWTCP_SPENT_STORE_TIMEOUT", nil},
		{"spent-store-wait-replicas", "POWTCP_SPENT_STORE_WAIT_REPLICAS", nil},
		{"allow-networks", "POWTCP_ALLOW_NETWORKS", &s.AllowNetworks},
		{"allow-networks-file", "POWTCP_ALLOW_NETWORKS_FILE", nil},
		{"allow-free", "POWTCP_ALLOW_FREE", &s.AllowFree},
		{"upstream", "POWTCP_UPSTREAM", nil},
		{"upstream-name", "POWTCP_UPSTREAM_NAME", nil},
		{"upstream-dial-timeout", "POWTCP_UPSTREAM_DIAL_TIMEOUT", nil},
		{"upstream-proxy-protocol", "POWTCP_UPSTREAM_PROXY_PROTOCOL", nil},
		{"tunnel-idle-timeout", "POWTCP_TUNNEL_IDLE_TIMEOUT", nil},
		{"tunnel-max-lifetime", "POWTCP_TUNNEL_MAX_LIFETIME", nil},
		{"max-tunnels", "POWTCP_MAX_TUNNELS", nil},
		{"max-tunnels-per-ip", "POWTCP_MAX_TUNNELS_PER_IP", nil},
		{"quotes", "QUOTES_FILE", nil},
		{"shutdown-timeout", "POWTCP_SHUTDOWN_TIMEOUT", nil},
		{"log-format", "LOG_FORMAT", nil},
		{"log-level", "LOG_LEVEL", nil},
	}
	// Every flag has its variable: a flag left out of settings is a bug the
	// tests meet at once.
	declared := 0
	fs.VisitAll(func(*flag.Flag) { declared++ })
	if declared != len(settings) {
		panic(fmt.Sprintf("server: %d flags declared, %d with an environment variable", declared, len(settings)))
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: server [flags]\n\nServes quotes to clients that solve a hashcash proof of work, or, with\n-upstream, relays their connections to a TCP service behind it (the gate).\nEach flag's environment variable sets its default.\n\n")
		for _, st := range settings {
			f := fs.Lookup(st.flag)
			fmt.Fprintf(stderr, "  -%s (%s, default %q)\n    \t%s\n", f.Name, st.env, f.Value.String(), f.Usage)
		}
	}
	// The environment sets the flags first, so that the command line wins.
	var errs []error
	for _, st := range settings {
		if v := getenv(st.env); v != "" {
			if err := fs.Set(st.flag, v); err != nil {
				errs = append(errs, envError(st.env, v, fs.Lookup(st.flag), err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	// Set by flag or by environment variable (fs.Set counts as set).
	c.explicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	// The defaults that depend on the proof of work, where not set.
	difficulty.Resolve(s.Alg)
	if !c.explicit["client-hash-rate"] {
		s.ClientHashRate = powserver.DefaultConfigFor(s.Alg).ClientHashRate
	}
	s.Key = key
	if c.KeyFile != "" {
		if c.explicit["key"] {
			return c, errors.New("-key and -key-file exclude each other")
		}
		keys, err := readKeyFile(c.KeyFile)
		if err != nil {
			return c, err
		}
		s.Key, s.VerifyKeys = keys[0], keys[1:]
	}
	// Validation errors about a powserver.Config field name its flag.
	flags := map[string]string{}
	for _, st := range settings {
		if st.field != nil {
			name := s.FieldName(st.field)
			if name == "" {
				panic("server: -" + st.flag + "'s field is not one of powserver.Config's")
			}
			flags[name] = "-" + st.flag
		}
	}
	return c, c.validate(flags)
}

// envError says why the environment variable env could not set flag f to v.
func envError(env, v string, f *flag.Flag, err error) error {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case int:
			err = errors.New("not an integer")
		case float64:
			err = errors.New("not a number")
		case time.Duration:
			err = errors.New("not a duration (e.g. 30s, 1m)")
		case bool:
			err = errors.New("not true or false")
		}
	}
	return fmt.Errorf("%s=%q: %w", env, v, err)
}

// validate checks c; errors about a powserver.Config field are given the
// flag flags names for the field (by name, as powserver.FieldError does).
func (c config) validate(flags map[string]string) error {
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

// allowNetworks is -allow-networks and, with -allow-networks-file, the
// networks the file lists.
func (c config) allowNetworks() ([]netip.Prefix, error) {
	nets := slices.Clone(c.Server.AllowNetworks)
	if c.AllowFile == "" {
		return nets, nil
	}
	b, err := os.ReadFile(c.AllowFile)
	if err != nil {
		return nil, fmt.Errorf("-allow-networks-file: %w", err)
	}
	if len(b) > maxAllowFileBytes {
		return nil, fmt.Errorf("-allow-networks-file %s: over %d bytes", c.AllowFile, maxAllowFileBytes)
	}
	for i, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#") // a comment, to the end of the line
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var p prefixList
		if err := p.Set(line); err != nil || len(p) != 1 {
			return nil, fmt.Errorf("-allow-networks-file %s line %d: want one CIDR or address, got %.40q", c.AllowFile, i+1, line)
		}
		nets = append(nets, p[0])
	}
	return nets, nil
}

// maxAllowFileBytes bounds -allow-networks-file: a million bytes is some
// 50,000 networks.
const maxAllowFileBytes = 1 << 20

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

// hexKey is a MAC key in hex, of at least 16 bytes.
type hexKey []byte

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
