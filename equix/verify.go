package equix

// Verify checks s against challenge: order first (no hashing), then the
// HashX program, then the sums, as the reference does (tevador/equix
// src/equix.c). Its errors are ErrOrder, ErrChallenge, ErrPartialSum and
// ErrFinalSum (test them with errors.Is); nil means s is a solution.
//
// Verify interprets HashX: compiling the program for its 8 hashes (two
// mprotect calls and the emitter, BenchmarkVerifyCompiled) measured slower
// (52.4 µs against 42.9, medians of 9 interleaved runs), and its system
// calls would serialize a server's verifying goroutines on the process's
// memory map.
func Verify(challenge []byte, s Solution) error {
	if !inOrder(&s) {
		return ErrOrder
	}
	h, err := newHash(challenge)
	if err != nil {
		return err
	}
	return verifySums(h, &s)
}

// pairSum is the sum of the values of indices i and i+1.
func pairSum(h hasher, s *Solution, i int) uint64 {
	return h.Hash64(uint64(s[i])) + h.Hash64(uint64(s[i+1]))
}

// verifySums checks the tree's sums bottom-up, left to right, stopping at
// the first that fails: each pair's sum has 15 trailing zero bits, each
// quad's 30, and the whole is zero modulo 2^60. A failure below the root is
// ErrPartialSum, at the root ErrFinalSum.
func verifySums(h hasher, s *Solution) error {
	p0 := pairSum(h, s, 0)
	if p0&stage1Mask != 0 {
		return ErrPartialSum
	}
	p1 := pairSum(h, s, 2)
	if p1&stage1Mask != 0 {
		return ErrPartialSum
	}
	q0 := p0 + p1
	if q0&stage2Mask != 0 {
		return ErrPartialSum
	}
	p2 := pairSum(h, s, 4)
	if p2&stage1Mask != 0 {
		return ErrPartialSum
	}
	p3 := pairSum(h, s, 6)
	if p3&stage1Mask != 0 {
		return ErrPartialSum
	}
	q1 := p2 + p3
	if q1&stage2Mask != 0 {
		return ErrPartialSum
	}
	if (q0+q1)&fullMask != 0 {
		return ErrFinalSum
	}
	return nil
}
