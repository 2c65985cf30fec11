package hashcash

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/powtcp/powtcp/equix"
)

// An Equi-X stamp is a hashcash v1 stamp with ext "equix" whose counter is
//
//	base64.RawStdEncoding(nonce || solution)
//
// an 8-byte nonce and the equix.SolutionSize bytes of an Equi-X solution,
// EquixCounterLen characters. The solution must solve the Equi-X challenge
// prefix || nonce (the prefix being the stamp through the rand field's
// ':'), and the SHA-256 of the whole stamp, the effort hash, must have the
// stamp's bits of leading zeros.
const (
	equixNonceLen = 8
	equixRawLen   = equixNonceLen + equix.SolutionSize
	// EquixCounterLen is the length of an Equi-X stamp's counter: 24 bytes
	// in base64 without padding, no partial group, so one encoding each.
	EquixCounterLen = equixRawLen / 3 * 4
)

// equixDefaultBits is Equix's DefaultBits: at 4 bits about eight Equi-X
// solves (2^bits/2, a nonce having about two solutions), some 65 ms of one
// core here with HashX compiled (8 ms a solve), as 2^20 hashes (80 ms) are
// for SHA-256 (docs/design.md has the measurement). It was 1 bit while
// HashX was interpreted (100 ms a solve).
const equixDefaultBits = 4

// maxEquixWorkers caps Solve's workers for Equix: each holds an
// equix.Solver of about 2 MiB.
const maxEquixWorkers = 64

// EquixNonce is the nonce of an Equi-X stamp's counter.
type EquixNonce [equixNonceLen]byte

// EquixCounter returns the counter of an Equi-X stamp for nonce and s.
func EquixCounter(nonce EquixNonce, s equix.Solution) string {
	var b [EquixCounterLen]byte
	return string(appendEquixCounter(b[:0], nonce, s))
}

func appendEquixCounter(b []byte, nonce EquixNonce, s equix.Solution) []byte {
	var raw [equixRawLen]byte
	copy(raw[:], nonce[:])
	sol, _ := s.AppendBinary(raw[:equixNonceLen]) // appending to a slice cannot fail
	return base64.RawStdEncoding.AppendEncode(b, sol)
}

// ParseEquixCounter decodes the counter of an Equi-X stamp. A counter of
// another length, or with '=' in it, holds no Equi-X solution: the error
// wraps ErrBits (the hashcash syntax allows any counter of the base64
// alphabet, so it is not ErrMalformed). The solution's order is not
// checked: equix.Verify does.
func ParseEquixCounter(counter string) (EquixNonce, equix.Solution, error) {
	var nonce EquixNonce
	if len(counter) != EquixCounterLen {
		return nonce, equix.Solution{}, fmt.Errorf("counter of %d characters, want %d for an Equi-X stamp: %w", len(counter), EquixCounterLen, ErrBits)
	}
	var src [EquixCounterLen]byte
	var raw [equixRawLen]byte
	copy(src[:], counter)
	if n, err := base64.RawStdEncoding.Decode(raw[:], src[:]); err != nil || n != len(raw) {
		return nonce, equix.Solution{}, fmt.Errorf("counter is not base64 of a nonce and an Equi-X solution: %w", ErrBits)
	}
	copy(nonce[:], raw[:])
	s, err := equix.SolutionFromBytes(raw[equixNonceLen:])
	if err != nil {
		return nonce, equix.Solution{}, fmt.Errorf("counter: %w: %w", err, ErrBits)
	}
	return nonce, s, nil
}

// EquixChallenge returns the Equi-X challenge that the counter with nonce
// solves: prefix (the stamp without its counter) || nonce, appended to b.
func EquixChallenge(b []byte, prefix string, nonce EquixNonce) []byte {
	return append(append(b, prefix...), nonce[:]...)
}

// equixVerifier checks an Equi-X solution: equix.Verify, or a test's stand-in.
type equixVerifier func(challenge []byte, s equix.Solution) error

// verifyEquix checks the Equi-X half of an Equi-X stamp's work (the effort
// hash is ZeroBits): that its counter holds a nonce and a solution of the
// challenge prefix || nonce. Errors wrap ErrBits, and the equix error
// (equix.ErrOrder, ...) when verify refused the solution.
func verifyEquix(stamp string, st Stamp, verify equixVerifier) error {
	nonce, sol, err := ParseEquixCounter(st.Counter)
	if err != nil {
		return err
	}
	// The prefix is at most MaxStampLen-EquixCounterLen bytes: the
	// challenge fits on the stack.
	var buf [MaxStampLen]byte
	challenge := EquixChallenge(buf[:0], stamp[:len(stamp)-len(st.Counter)], nonce)
	if err := verify(challenge, sol); err != nil {
		return fmt.Errorf("Equi-X solution refused: %w: %w", err, ErrBits)
	}
	return nil
}

// An equixAcceptor is Solve's judge of Equi-X solutions, for
// equix.SolveContext, which calls it for one solution at a time: it counts
// them and takes the first whose stamp's effort hash has the bits.
type equixAcceptor struct {
	prefix   string
	bits     int
	attempts *atomic.Uint64
	msg      []byte // prefix || counter of the last candidate
}

func newEquixAcceptor(prefix string, bits int, attempts *atomic.Uint64) *equixAcceptor {
	return &equixAcceptor{prefix: prefix, bits: bits, attempts: attempts, msg: make([]byte, 0, len(prefix)+EquixCounterLen)}
}

// accept reports whether sol, a solution of challenge (prefix || nonce),
// makes a stamp with the bits; the stamp is then a.stamp().
func (a *equixAcceptor) accept(challenge []byte, sol equix.Solution) bool {
	a.attempts.Add(1)
	var nonce EquixNonce
	copy(nonce[:], challenge[len(a.prefix):])
	a.msg = appendEquixCounter(append(a.msg[:0], a.prefix...), nonce, sol)
	sum := sha256.Sum256(a.msg)
	return LeadingZeroBits(sum[:]) >= a.bits
}

// stamp is the last candidate.
func (a *equixAcceptor) stamp() string { return string(a.msg) }

// equixNonces gives the challenges prefix || nonce for the nonces 0, 1,
// 2, ... (big endian), each in its own slice, for equix.SolveContext.
func equixNonces(prefix string) func() ([]byte, bool) {
	var seq uint64
	return func() ([]byte, bool) {
		var nonce EquixNonce
		binary.BigEndian.PutUint64(nonce[:], seq)
		seq++
		return EquixChallenge(nil, prefix, nonce), true
	}
}

// solveEquix is Solve for Equix: equix.SolveContext on workers goroutines
// (each with its equix.Solver) over the nonces from 0, until a solution's
// stamp has the bits or ctx is done.
func solveEquix(ctx context.Context, prefix string, bits, workers int, attempts *atomic.Uint64) (string, error) {
	a := newEquixAcceptor(prefix, bits, attempts)
	if _, _, err := equix.SolveContext(ctx, workers, equixNonces(prefix), a.accept); err != nil {
		return "", err
	}
	return a.stamp(), nil
}
