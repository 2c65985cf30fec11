package hashcash

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// Alg is the hash function a stamp is computed with. A stamp names it in
// its ext field.
type Alg uint8

const (
	// SHA256 is SHA-256; its stamps carry "sha256" in the ext field.
	SHA256 Alg = iota + 1
	// SHA1 is SHA-1 with an empty ext field, as minted and checked by the
	// reference hashcash tool.
	SHA1
)

// ParseAlg returns the Alg named "sha256" or "sha1".
func ParseAlg(s string) (Alg, error) {
	switch s {
	case "sha256":
		return SHA256, nil
	case "sha1":
		return SHA1, nil
	}
	return 0, fmt.Errorf("unknown algorithm %q (want sha256 or sha1): %w", s, ErrAlg)
}

// String returns "sha256" or "sha1", the names ParseAlg accepts.
func (a Alg) String() string {
	switch a {
	case SHA256:
		return "sha256"
	case SHA1:
		return "sha1"
	}
	return "Alg(" + strconv.Itoa(int(a)) + ")"
}

// Ext returns the ext field of stamps computed with a: "sha256" for
// SHA256 and "" for SHA1. For an unknown Alg it returns a string that no
// valid stamp carries.
func (a Alg) Ext() string {
	switch a {
	case SHA256:
		return "sha256"
	case SHA1:
		return ""
	}
	return a.String() // contains '(' and so is never a valid ext field
}

func (a Alg) valid() bool { return a == SHA256 || a == SHA1 }

// algFromExt maps an ext field to its Alg.
func algFromExt(ext string) (Alg, error) {
	switch ext {
	case "sha256":
		return SHA256, nil
	case "":
		return SHA1, nil
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
// or -1 if alg is neither SHA256 nor SHA1.
func ZeroBits(alg Alg, stamp string) int {
	// Stamps up to MaxStampLen are copied to the stack: []byte(stamp) would
	// allocate.
	var buf [MaxStampLen]byte
	b := buf[:copy(buf[:], stamp)]
	if len(stamp) > len(buf) {
		b = []byte(stamp)
	}
	switch alg {
	case SHA256:
		sum := sha256.Sum256(b)
		return LeadingZeroBits(sum[:])
	case SHA1:
		sum := sha1.Sum(b)
		return LeadingZeroBits(sum[:])
	}
	return -1
}

// ExpectedAttempts returns the expected number of counters to try before
// one gives a hash with bits leading zero bits: 2^bits.
func ExpectedAttempts(bits int) float64 {
	return math.Ldexp(1, max(bits, 0))
}
