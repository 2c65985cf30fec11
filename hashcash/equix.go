package hashcash

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

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

// equixDefaultBits is Equix's DefaultBits: at 1 bit about one Equi-X
// solve (2^bits/2, a nonce having about two solutions), 0.1 s of one core
// here, as 2^20 hashes are for SHA-256 (docs/design.md has the measurement).
const equixDefaultBits = 1

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

// An equixSearcher is one worker's Equi-X search: it solves the challenge
// prefix || nonce for one nonce after another, the worker's id in the
// nonce's first two bytes and a sequence number in the other six (big
// endian), and takes the first solution whose stamp's effort hash has the
// bits.
type equixSearcher struct {
	bits      int
	solver    *equix.Solver
	challenge []byte // prefix || nonce
	prefixLen int
	id        uint64 // the worker's id, shifted into the nonce's top bytes
	seq       uint64
	sols      []equix.Solution
	msg       []byte // prefix || counter of the last candidate
	err       error
	_         [64]byte // keeps other workers' data off this one's cache lines
}

func newEquixSearcher(prefix string, bits, worker int) *equixSearcher {
	s := &equixSearcher{
		bits:      bits,
		solver:    equix.NewSolver(),
		prefixLen: len(prefix),
		id:        uint64(worker) << 48,
		sols:      make([]equix.Solution, 0, equix.MaxSolutions),
		msg:       make([]byte, 0, len(prefix)+EquixCounterLen),
	}
	s.challenge = EquixChallenge(make([]byte, 0, len(prefix)+equixNonceLen), prefix, EquixNonce{})
	s.msg = append(s.msg, prefix...)
	return s
}

// search solves the next nonce's challenge (n is ignored: one solve takes
// milliseconds, so Solve looks at its context between nonces) and returns
// the number of solutions whose effort hash it computed.
func (s *equixSearcher) search(int) (tried uint64, found bool) {
	var nonce EquixNonce
	binary.BigEndian.PutUint64(nonce[:], s.id|s.seq&(1<<48-1))
	s.seq++
	copy(s.challenge[s.prefixLen:], nonce[:])
	sols, err := s.solver.Solve(s.challenge, s.sols[:0])
	s.sols = sols[:0]
	switch {
	case errors.Is(err, equix.ErrChallenge):
		return 0, false // this nonce's HashX program is unusable: next one
	case err != nil:
		s.err = fmt.Errorf("Equi-X solve: %w", err)
		return 0, false
	}
	for _, sol := range sols {
		tried++
		s.msg = appendEquixCounter(s.msg[:s.prefixLen], nonce, sol)
		sum := sha256.Sum256(s.msg)
		if LeadingZeroBits(sum[:]) >= s.bits {
			return tried, true
		}
	}
	return tried, false
}

// stamp returns the last candidate.
func (s *equixSearcher) stamp() []byte { return s.msg }

// failure is why the solver cannot go on, or nil.
func (s *equixSearcher) failure() error { return s.err }
