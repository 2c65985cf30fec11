package equix

import "errors"

// NumIndices is the number of 16-bit indices in a solution.
const NumIndices = 8

// SolutionSize is the size of a solution on the wire: eight little-endian
// uint16 indices.
const SolutionSize = 2 * NumIndices

// MaxSolutions is the most solutions Solve returns for one challenge.
const MaxSolutions = 8

// Solution is eight indices in the canonical order Verify requires.
type Solution [NumIndices]uint16

// errSolutionSize is SolutionFromBytes' error for input of the wrong size.
var errSolutionSize = errors.New("equix: a solution is 16 bytes")

// AppendBinary appends the wire form of s (SolutionSize bytes) to b.
func (s Solution) AppendBinary(b []byte) ([]byte, error) {
	for _, i := range s {
		b = append(b, byte(i), byte(i>>8))
	}
	return b, nil
}

// SolutionFromBytes decodes SolutionSize bytes of wire form. It does not
// check order: Verify does.
func SolutionFromBytes(b []byte) (Solution, error) {
	var s Solution
	if len(b) != SolutionSize {
		return s, errSolutionSize
	}
	for i := range s {
		s[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return s, nil
}
