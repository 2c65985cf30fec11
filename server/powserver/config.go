package powserver

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/quotes"
)

// Config is what a Server needs. The zero value of each field but
// Difficulty means its default (a Difficulty of 0 asks for no work, which
// benchmarks use); Validate reports values that are out of range.
type Config struct {
	// Name identifies this service in the stamps' resource field
	// ("<client-ip>@<name>"); replicas that share a MAC key share it too.
	Name string
	// Difficulty is the base number of leading zero bits a solution needs
	// (command server defaults it to DefaultDifficulty).
	Difficulty int
	// MaxExtraBits caps what adaptive difficulty adds to Difficulty under load.
	// A negative value turns adaptive difficulty off.
	MaxExtraBits int
	// Alg is the hash of the proof of work.
	Alg hashcash.Alg
	// Key is the HMAC key of the challenges; random per start when empty.
	Key []byte
	// ChallengeTTL is how long an issued challenge stays redeemable.
	ChallengeTTL time.Duration
	// ClientHashRate is the hash rate (hashes per second) of the slowest
	// client the solve window is sized for.
	ClientHashRate float64
	// MinSolveWindow is the least time a client gets to answer, whatever the difficulty.
	MinSolveWindow time.Duration
	// WriteTimeout bounds each write to a client.
	WriteTimeout time.Duration
	// MaxConns caps the connections in flight; when full, the oldest
	// connection still waiting for its solution is closed to make room.
	MaxConns int
	// MaxConnsPerIP caps one client address's connections in flight.
	MaxConnsPerIP int
	// ReplayCacheSize caps the challenges remembered as redeemed.
	ReplayCacheSize int
	// Quotes is what is handed out; the embedded collection when nil.
	Quotes *quotes.Collection
	// Spent records redeemed challenges; a bounded in-memory store when nil.
	// Replicas behind one address should share one.
	Spent hashcash.SpentStore
	// Now is the clock of stamps and rates; time.Now when nil. Socket
	// deadlines always use the real clock.
	Now func() time.Time
}

// Defaults, as documented in the README.
const (
	DefaultName            = "powtcp"
	DefaultDifficulty      = 20
	DefaultMaxExtraBits    = 6
	DefaultChallengeTTL    = 60 * time.Second
	DefaultClientHashRate  = 1e6
	DefaultMinSolveWindow  = 2 * time.Second
	DefaultWriteTimeout    = 5 * time.Second
	DefaultMaxConns        = 10000
	DefaultMaxConnsPerIP   = 64
	DefaultReplayCacheSize = 1 << 20
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	set(&c.MaxExtraBits, DefaultMaxExtraBits)
	set(&c.MaxConns, DefaultMaxConns)
	set(&c.MaxConnsPerIP, DefaultMaxConnsPerIP)
	set(&c.ReplayCacheSize, DefaultReplayCacheSize)
	setD(&c.ChallengeTTL, DefaultChallengeTTL)
	setD(&c.MinSolveWindow, DefaultMinSolveWindow)
	setD(&c.WriteTimeout, DefaultWriteTimeout)
	if c.Alg == 0 {
		c.Alg = hashcash.SHA256
	}
	if c.ClientHashRate == 0 {
		c.ClientHashRate = DefaultClientHashRate
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every out-of-range field at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Difficulty < 0 || c.Difficulty > 32 {
		bad("difficulty %d: want 0..32 bits", c.Difficulty)
	}
	if c.MaxExtraBits > 0 && c.Difficulty+c.MaxExtraBits > 40 {
		bad("difficulty %d + max extra bits %d: want at most 40 bits", c.Difficulty, c.MaxExtraBits)
	}
	if c.Key != nil && len(c.Key) < 16 {
		bad("MAC key of %d bytes: want at least 16", len(c.Key))
	}
	if c.ChallengeTTL < 0 || c.MinSolveWindow < 0 || c.WriteTimeout < 0 {
		bad("durations must not be negative")
	}
	if c.MinSolveWindow > c.ChallengeTTL && c.ChallengeTTL > 0 {
		bad("min solve window %v exceeds challenge TTL %v", c.MinSolveWindow, c.ChallengeTTL)
	}
	if c.ClientHashRate < 0 || math.IsNaN(c.ClientHashRate) || math.IsInf(c.ClientHashRate, 0) {
		bad("client hash rate %v: want a positive number", c.ClientHashRate)
	}
	if c.MaxConns < 0 || c.MaxConnsPerIP < 0 || c.ReplayCacheSize < 0 {
		bad("caps must not be negative")
	}
	if c.MaxConnsPerIP > 0 && c.MaxConns > 0 && c.MaxConnsPerIP > c.MaxConns {
		bad("per-IP cap %d exceeds connection cap %d", c.MaxConnsPerIP, c.MaxConns)
	}
	for _, r := range c.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			bad("name %q: want letters, digits, '.', '-' or '_' (it goes into the stamp's resource)", c.Name)
			break
		}
	}
	return errors.Join(errs...)
}

// solveWindow is how long a client gets to answer a challenge of bits:
// the expected time of the slowest supported client, doubled, plus the
// minimum, capped at the challenge's lifetime.
func (c Config) solveWindow(bits int) time.Duration {
	expected := hashcash.ExpectedAttempts(bits) / c.ClientHashRate
	w := c.MinSolveWindow + time.Duration(2*expected*float64(time.Second))
	return min(w, c.ChallengeTTL)
}
