package powserver

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strconv"
	"time"

	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/quotes"
)

// Config is what a Server needs. Start from DefaultConfig: New takes every
// numeric field as it is (a zero MaxExtraBits means no adaptive bits, a
// zero Difficulty asks for no work) and refuses values that make no sense.
// Only the nil fields Key, Quotes, Spent and Now stand for something, as
// their comments say.
type Config struct {
	// Name identifies this service in the stamps' resource field
	// ("<client-ip>@<name>"); replicas that share a MAC key share it too.
	// At most MaxNameLen characters.
	Name string
	// Difficulty is the base number of leading zero bits a solution needs,
	// 0..MaxDifficulty (Equix: 0..MaxEquixDifficulty); 0 asks for no work
	// beyond, with Equix, one Equi-X solution (benchmarks use it).
	Difficulty int
	// MaxExtraBits caps what adaptive difficulty adds to Difficulty under
	// load: 0 or -1 turns adaptive difficulty off.
	MaxExtraBits int
	// CalmProofRate is the rate of redeemed proofs (verified and spent, per
	// second, server-wide) above which each doubling adds a bit for every
	// client. Only solving clients move that rate: connections refused or
	// left silent never raise anyone's price but their own.
	CalmProofRate float64
	// Alg is the proof of work: a hash, or Equi-X.
	Alg hashcash.Alg
	// Key is the HMAC key of the challenges; random per start when nil.
	Key []byte
	// VerifyKeys are keys whose challenges are still accepted, though Key
	// mints: roll a new key in (it mints on every replica once each has it
	// here) and an old one out with no challenge refused. At most
	// hashcash.MaxVerifyKeys.
	VerifyKeys [][]byte
	// ChallengeTTL is how long an issued challenge stays redeemable.
	ChallengeTTL time.Duration
	// ClientHashRate is the hash rate (hashes per second; with Equix,
	// Equi-X solutions per second) of the slowest client the solve window
	// is sized for.
	ClientHashRate float64
	// MinSolveWindow is the least time a client gets to answer, whatever the difficulty.
	MinSolveWindow time.Duration
	// AnswerWindow is how long a connection is held for its answer under
	// load (connections in flight at an eighth of MaxConns or more),
	// whatever the difficulty: a few round trips. A client that cannot
	// answer in it solves off the connection and presents the stamp on a
	// new one.
	AnswerWindow time.Duration
	// WriteTimeout bounds each write to a client.
	WriteTimeout time.Duration
	// MaxConns caps the connections in flight; when full, a connection
	// still waiting for its solution is closed to make room.
	MaxConns int
	// MaxConnsPerIP caps one client address's connections in flight.
	MaxConnsPerIP int
	// ReplayCacheSize caps the challenges remembered as redeemed (by the
	// in-memory store, when Spent is nil).
	ReplayCacheSize int
	// AllowNetworks are client networks that pay the base difficulty only
	// (no load or client bits; with AllowFree, no work at all), whose
	// silent handshakes are never closed to make room for anyone else's,
	// and which are counted apart (powtcp_allowlisted_connections_total).
	// A client's address is the one the server sees: with a PROXY protocol
	// listener, the one its trusted balancer's header names.
	AllowNetworks []netip.Prefix
	// AllowFree makes AllowNetworks' clients solve a difficulty-0
	// challenge (the exchange stays the same: any counter checks out).
	AllowFree bool
	// Handler serves each connection whose proof checked out; when nil,
	// the quote service: QuoteHandler(Quotes), counted in
	// powtcp_quotes_served_total.
	Handler Handler
	// Quotes is what the default Handler hands out; the embedded
	// collection when nil.
	Quotes *quotes.Collection
	// Spent records redeemed challenges; a bounded in-memory store when nil.
	// Replicas behind one address should share one.
	Spent hashcash.SpentStore
	// Now is the clock of stamps and rates; time.Now when nil. Socket
	// deadlines always use the real clock.
	Now func() time.Time
}

// Limits of the settings.
const (
	// MaxDifficulty is the largest base difficulty.
	MaxDifficulty = 32
	// MaxTotalBits is the largest difficulty with adaptive bits added.
	MaxTotalBits = 40
	// MaxEquixDifficulty is the largest base difficulty with Equix, whose
	// every bit doubles far slower work: 2^10 Equi-X solves, about 8 s of
	// one core here (8 ms a solve with HashX compiled, docs/design.md), so
	// that an honest client solves well within the default challenge TTL.
	MaxEquixDifficulty = 11
	// MaxEquixTotalBits is the largest Equix difficulty with adaptive
	// bits added: the default 6 extra bits on top of MaxEquixDifficulty.
	MaxEquixTotalBits = 17
	// MaxNameLen is the longest Name: the resource "<client>@<name>" of the
	// longest client key must fit in hashcash.MaxResourceLen.
	MaxNameLen = hashcash.MaxResourceLen - 1 - maxClientKeyLen
)

// DefaultConfig returns the defaults documented in the README, with
// SHA-256; command server starts from it, and so do the tests.
func DefaultConfig() Config { return DefaultConfigFor(hashcash.SHA256) }

// DefaultConfigFor is DefaultConfig with alg as the proof of work: its
// default difficulty (alg.DefaultBits) and slowest client.
func DefaultConfigFor(alg hashcash.Alg) Config {
	return Config{
		Name:            "powtcp",
		Difficulty:      alg.DefaultBits(),
		MaxExtraBits:    6,
		CalmProofRate:   defaultCalmProofRate,
		Alg:             alg,
		ChallengeTTL:    60 * time.Second,
		ClientHashRate:  slowClientRate(alg),
		MinSolveWindow:  2 * time.Second,
		AnswerWindow:    500 * time.Millisecond,
		WriteTimeout:    5 * time.Second,
		MaxConns:        10000,
		MaxConnsPerIP:   64,
		ReplayCacheSize: 1 << 20,
	}
}

// defaultCalmProofRate is CalmProofRate by default: 2,000 proofs a second,
// about a tenth of one core here in server CPU (a served session costs
// about 46 µs, BENCHMARKS.md), far beyond what honest clients of one quote
// service redeem, and reached by solvers only when they flood.
const defaultCalmProofRate = 2000

// slowClientRate is the rate of the slowest client the solve window is
// sized for, by default: for the hashes 1e6 hashes/s, a twelfth of one core
// here (12.6 MH/s, README.md); for Equix equixSlowClientRate solutions/s,
// about the same fraction of one core's rate.
func slowClientRate(alg hashcash.Alg) float64 {
	if alg == hashcash.Equix {
		return equixSlowClientRate
	}
	return 1e6
}

// equixSlowClientRate is slowClientRate for Equix, in solutions/s, about a
// twelfth of one core's rate here: one core finds about 250 (a solve takes
// 8 ms with HashX compiled and yields ~2).
const equixSlowClientRate = 20

// difficultyLimits are the largest base difficulty and the largest with
// adaptive bits added for alg.
func difficultyLimits(alg hashcash.Alg) (base, total int) {
	if alg == hashcash.Equix {
		return MaxEquixDifficulty, MaxEquixTotalBits
	}
	return MaxDifficulty, MaxTotalBits
}

// FieldError is a setting New refuses: Field is the Config field's name,
// as FieldName gives it.
type FieldError struct {
	Field string
	Value any
	Want  string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s %v: want %s", e.Field, e.Value, e.Want) }

// FieldName is the name of the field of c that p points to ("Difficulty"
// for &c.Difficulty), "" when p points to none. Code that maps FieldErrors
// to names of its own (command server: to its flags) names the fields by
// pointer through it, so that renaming a field breaks it at compile time.
func (c *Config) FieldName(p any) string {
	pv := reflect.ValueOf(p)
	if pv.Kind() != reflect.Pointer {
		return ""
	}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		if f := v.Field(i).Addr(); f.Type() == pv.Type() && f.Pointer() == pv.Pointer() {
			return v.Type().Field(i).Name
		}
	}
	return ""
}

// Validate reports every out-of-range field at once, each as a *FieldError.
func (c Config) Validate() error {
	var errs []error
	// field points into c: its name comes from the struct, never a string.
	bad := func(field any, v any, want string, args ...any) {
		errs = append(errs, &FieldError{Field: c.FieldName(field), Value: v, Want: fmt.Sprintf(want, args...)})
	}
	switch {
	case c.Name == "":
		bad(&c.Name, `""`, "a name (it goes into the stamp's resource)")
	case len(c.Name) > MaxNameLen:
		bad(&c.Name, fmt.Sprintf("of %d characters", len(c.Name)), "at most %d (the stamp's resource is at most %d bytes)", MaxNameLen, hashcash.MaxResourceLen)
	}
	for _, r := range c.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			bad(&c.Name, strconv.Quote(c.Name), "letters, digits, '.', '-' or '_' (it goes into the stamp's resource)")
			break
		}
	}
	maxBase, maxTotal := difficultyLimits(c.Alg)
	forAlg := ""
	if c.Alg == hashcash.Equix {
		forAlg = " with equix (each bit doubles an honest client's Equi-X solves)"
	}
	if c.Difficulty < 0 || c.Difficulty > maxBase {
		bad(&c.Difficulty, c.Difficulty, "0..%d bits%s", maxBase, forAlg)
	}
	if c.MaxExtraBits < -1 {
		bad(&c.MaxExtraBits, c.MaxExtraBits, "-1 or more (-1 and 0: no adaptive bits)")
	} else if c.Difficulty+max(c.MaxExtraBits, 0) > maxTotal {
		bad(&c.MaxExtraBits, c.MaxExtraBits, "at most %d with difficulty %d (%d bits in all%s)", maxTotal-c.Difficulty, c.Difficulty, maxTotal, forAlg)
	}
	if !(c.CalmProofRate > 0) || math.IsInf(c.CalmProofRate, 0) {
		bad(&c.CalmProofRate, c.CalmProofRate, "a positive number of proofs per second")
	}
	switch c.Alg {
	case hashcash.SHA256, hashcash.SHA1, hashcash.Equix:
	default:
		bad(&c.Alg, int(c.Alg), "%s", hashcash.AlgNames())
	}
	if c.Key != nil && len(c.Key) < hashcash.MinKeyLen {
		bad(&c.Key, fmt.Sprintf("of %d bytes", len(c.Key)), "at least %d bytes", hashcash.MinKeyLen)
	}
	if len(c.VerifyKeys) > 0 && c.Key == nil {
		bad(&c.VerifyKeys, len(c.VerifyKeys), "a Key to mint with as well")
	}
	if len(c.VerifyKeys) > hashcash.MaxVerifyKeys {
		bad(&c.VerifyKeys, len(c.VerifyKeys), "at most %d", hashcash.MaxVerifyKeys)
	}
	for i, k := range c.VerifyKeys {
		if len(k) < hashcash.MinKeyLen {
			bad(&c.VerifyKeys, fmt.Sprintf("[%d] of %d bytes", i, len(k)), "at least %d bytes", hashcash.MinKeyLen)
		}
	}
	if c.ChallengeTTL <= 0 {
		bad(&c.ChallengeTTL, c.ChallengeTTL, "a positive duration")
	}
	if c.MinSolveWindow <= 0 {
		bad(&c.MinSolveWindow, c.MinSolveWindow, "a positive duration")
	} else if c.MinSolveWindow > c.ChallengeTTL && c.ChallengeTTL > 0 {
		bad(&c.MinSolveWindow, c.MinSolveWindow, "at most the challenge TTL %v", c.ChallengeTTL)
	}
	if c.AnswerWindow <= 0 {
		bad(&c.AnswerWindow, c.AnswerWindow, "a positive duration")
	} else if c.AnswerWindow < time.Millisecond {
		bad(&c.AnswerWindow, c.AnswerWindow, "at least 1ms (the wire counts whole milliseconds)")
	}
	if c.WriteTimeout <= 0 {
		bad(&c.WriteTimeout, c.WriteTimeout, "a positive duration")
	}
	if !(c.ClientHashRate > 0) || math.IsInf(c.ClientHashRate, 0) {
		bad(&c.ClientHashRate, c.ClientHashRate, "a positive number of hashes per second")
	}
	if c.MaxConns < 1 {
		bad(&c.MaxConns, c.MaxConns, "at least 1")
	}
	if c.MaxConnsPerIP < 1 {
		bad(&c.MaxConnsPerIP, c.MaxConnsPerIP, "at least 1")
	} else if c.MaxConns >= 1 && c.MaxConnsPerIP > c.MaxConns {
		bad(&c.MaxConnsPerIP, c.MaxConnsPerIP, "at most the connection cap %d", c.MaxConns)
	}
	for _, p := range c.AllowNetworks {
		if !p.IsValid() {
			bad(&c.AllowNetworks, p, "valid CIDR prefixes")
		}
	}
	if c.Spent == nil && c.ReplayCacheSize < 1 {
		bad(&c.ReplayCacheSize, c.ReplayCacheSize, "at least 1")
	}
	return errors.Join(errs...)
}

// ReplayShare is how many unexpired redeemed challenges one client address
// may hold in the spent store: an eighth of ReplayCacheSize, so that one
// address redeeming solutions as fast as it can fills at most that and
// leaves the rest to everyone else. (At the default size, 131,072 per
// challenge lifetime: over 2,000 redemptions a second from one address.)
// A shared store is given the same bound.
func (c Config) ReplayShare() int { return max(1, c.ReplayCacheSize/8) }

// solveWindow is how long a client gets to answer a challenge of bits:
// the expected time of the slowest supported client, doubled, plus the
// minimum, capped at the challenge's lifetime.
func (c Config) solveWindow(bits int) time.Duration {
	expected := hashcash.ExpectedAttempts(bits) / c.ClientHashRate
	w := c.MinSolveWindow + time.Duration(2*expected*float64(time.Second))
	return min(w, c.ChallengeTTL)
}
