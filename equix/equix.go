package equix

import (
	"errors"
	"sync"

	"github.com/powtcp/powtcp/hashx"
)

// The ways a solution fails, as the reference names them.
var (
	ErrChallenge  = errors.New("equix: challenge unusable (its HashX program fails the generator's constraints)")
	ErrOrder      = errors.New("equix: indices not in canonical order")
	ErrPartialSum = errors.New("equix: partial sums lack the required trailing zero bits")
	ErrFinalSum   = errors.New("equix: hash values do not sum to zero")
)

// solvers keeps Solvers between calls of the package-level Solve, so that
// their 1.8 MiB is not allocated per call.
var solvers = sync.Pool{New: func() any { return NewSolver() }}

// Solve returns every solution the reference solver finds for challenge, at
// most MaxSolutions, in the reference's order. ErrChallenge for an unusable
// challenge. It borrows a Solver from a pool; a worker that solves often
// should keep its own (NewSolver).
func Solve(challenge []byte) ([]Solution, error) {
	s := solvers.Get().(*Solver)
	defer solvers.Put(s)
	return s.Solve(challenge, nil)
}

// Solve is the package's Solve reusing s's memory; solutions are appended
// to dst[:0].
func (s *Solver) Solve(challenge []byte, dst []Solution) ([]Solution, error) {
	h, err := newHash(challenge)
	if err != nil {
		return dst[:0], err
	}
	return s.solve(s.load(h), dst[:0]), nil
}

// load gives the hasher to solve with: a HashX goes into s's Machine
// (compiled unless s.Interpret), other hashers (tests' stand-ins) are
// used as they are.
func (s *Solver) load(h hasher) hasher {
	x, ok := h.(*hashx.HashX)
	if !ok {
		return h
	}
	s.machine.Interpret = s.Interpret
	s.machine.Load(x)
	return &s.machine
}

// Engine names how s ran HashX for its latest challenge: "compiled" or
// "interpreted" (see hashx.Machine.Engine).
func (s *Solver) Engine() string { return s.machine.Engine() }

// Close releases s's code memory (hashx.Machine.Close). It is never
// necessary: a dropped Solver's memory is released after a garbage
// collection. s stays usable.
func (s *Solver) Close() error { return s.machine.Close() }
