package hashcash

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Alg is the proof of work a stamp carries: a hash function whose output
// must start with zero bits, or Equi-X. A stamp names it in its ext field.
type Alg uint8

const (
	// SHA256 is SHA-256; its stamps carry "sha256" in the ext field.
	SHA256 Alg = iota + 1
	// SHA1 is SHA-1 with an empty ext field, as minted and checked by the
	// reference hashcash tool.
	SHA1
	// Equix is the Equi-X client puzzle (package equix), for clients that
	// should not be outrun by GPUs; its stamps carry "equix" in the ext
	// field and a counter of a nonce and an Equi-X solution, and their
	// SHA-256 (the effort hash) must have the bits. See the package doc.
	Equix
)

// algNames are the Algs' names, as String returns and ParseAlg takes: one
// list, so that neither can name an Alg the other does not.
var algNames = [...]string{SHA256: "sha256", SHA1: "sha1", Equix: "equix"}

// AlgNames is the list of names ParseAlg accepts, for usage messages:
// "sha256, sha1 or equix".
func AlgNames() string {
	return strings.Join(algNames[SHA256:len(algNames)-1], ", ") + " or " + algNames[len(algNames)-1]
}

// ParseAlg returns the Alg named "sha256", "sha1" or "equix".
func ParseAlg(s string) (Alg, error) {
	for a := SHA256; int(a) < len(algNames); a++ {
		if s == algNames[a] {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown algorithm %q (want %s): %w", s, AlgNames(), ErrAlg)
}

// String returns "sha256", "sha1" or "equix", the names ParseAlg accepts.
func (a Alg) String() string {
	if a.valid() {
		return algNames[a]
	}
	return "Alg(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText is String as bytes, for encoding.TextMarshaler (flag.TextVar,
// encoding/json); an unknown Alg is an error.
func (a Alg) MarshalText() ([]byte, error) {
	if !a.valid() {
		return nil, fmt.Errorf("%v: %w", a, ErrAlg)
	}
	return []byte(algNames[a]), nil
}

// UnmarshalText is ParseAlg, for encoding.TextUnmarshaler.
func (a *Alg) UnmarshalText(b []byte) error {
	v, err := ParseAlg(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Ext returns the ext field of stamps computed with a: "sha256" for
// SHA256, "" for SHA1 and "equix" for Equix. For an unknown Alg it
// returns a string that no valid stamp carries.
func (a Alg) Ext() string {
	switch a {
	case SHA256, Equix:
		return algNames[a]
	case SHA1:
		return ""
	}
	return a.String() // contains '(' and so is never a valid ext field
}

func (a Alg) valid() bool { return a >= SHA256 && int(a) < len(algNames) }

// DefaultBits is the difficulty a server asks of a by default: for the
// hashes 20 bits, 2^20 hashes, about 80 ms of one core with SHA
// instructions; for Equix equixDefaultBits, measured in the same way (see
// equix.go). 0 for an unknown Alg.
func (a Alg) DefaultBits() int {
	switch a {
	case SHA256, SHA1:
		return 20
	case Equix:
		return equixDefaultBits
	}
	return 0
}

// algFromExt maps an ext field to its Alg.
func algFromExt(ext string) (Alg, error) {
	if ext == "" {
		return SHA1, nil
	}
	for _, a := range []Alg{SHA256, Equix} {
		if ext == a.Ext() {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown ext %q: %w", ext, ErrAlg)
}

// LeadingZeroBits returns the number of leading zero bits of sum, read as a
// big-endian bit string (the most significant bit of sum[0] first).
func LeadingZeroBits(sum []byte) int {
	n := 0
	for len(sum) >= 8 {
		if x := binary.BigEndian.Uint64(sum); x != 0 {
			return n + bits.LeadingZeros64(x)
		}
		n += 64
		sum = sum[8:]
	}
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// ZeroBits returns the number of leading zero bits of alg's hash of stamp,
// or -1 for an unknown alg. For Equix the hash is the effort hash, SHA-256
// of the whole stamp: the bits are one half of an Equi-X stamp's work, the
// other is a valid Equi-X solution in the counter (see Minter.Verify).
func ZeroBits(alg Alg, stamp string) int {
	// Stamps up to MaxStampLen are copied to the stack: []byte(stamp) would
	// allocate.
	var buf [MaxStampLen]byte
	b := buf[:copy(buf[:], stamp)]
	if len(stamp) > len(buf) {
		b = []byte(stamp)
	}
	switch alg {
	case SHA256, Equix:
		sum := sha256.Sum256(b)
		return LeadingZeroBits(sum[:])
	case SHA1:
		sum := sha1.Sum(b)
		return LeadingZeroBits(sum[:])
	}
	return -1
}

// ExpectedAttempts returns the expected number of counters to try before
// one gives a hash with bits leading zero bits: 2^bits. For Equix a
// counter is an Equi-X solution, and a solve finds about two per nonce,
// so 2^bits attempts are about 2^bits/2 solves (Result.Attempts counts
// solutions).
func ExpectedAttempts(bits int) float64 {
	return math.Ldexp(1, max(bits, 0))
}
