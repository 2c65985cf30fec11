package equix

import "github.com/powtcp/powtcp/hashx"

// hasher is what the solver and verifier need of HashX: the 64-bit value of
// one index. *hashx.HashX is one; tests use stand-ins.
type hasher interface {
	Hash64(input uint64) uint64
}

// The solver is Wagner's algorithm in three rounds, with the reference's
// tables, visiting order and drop rules, so that it finds the reference's
// solutions in the reference's order:
//
//   - hashAll files each index's hash value under its low 8 bits;
//   - round 1 pairs values in complementary buckets b and -b whose low 15
//     bits sum to zero and files each pair under the sum's next 8 bits;
//   - round 2 does the same with pairs, for 15 more bits;
//   - round 3 pairs quads whose sums' next 30 bits cancel: eight indices
//     whose values sum to zero modulo 2^60.
//
// Within a round, buckets b = 0..128 are visited in turn with their
// complement c = -b mod 256; c's items are sorted into the fine table by
// their next 7 bits, then each item of b meets the items of c whose fine
// bucket complements its own. When b = c (b is 0 or 128) an item meets the
// fine table as soon as it has been added to it, so it meets only earlier
// items and, in bucket 0, possibly itself. An item that finds its bucket
// full is dropped; an item of c that finds its fine bucket full is not
// seen by this round at all.

// solve runs the solver over h, appending at most MaxSolutions solutions to
// dst.
func (s *Solver) solve(h hasher, dst []Solution) []Solution {
	s.hashAll(h)
	s.round1()
	s.round2()
	return s.round3(dst)
}

// hashBatch is how many values hashAll asks a hashx.Machine for at once
// (its compiled code hashes runs of inputs per call).
const hashBatch = 256

// hashAll is round 0: every index's value, by its low 8 bits.
//
//go:norace
func (s *Solver) hashAll(h hasher) {
	s.count1 = [numCoarse]uint16{}
	// The concrete type, so that vs stays on the stack.
	bh, ok := h.(*hashx.Machine)
	if !ok {
		for i := range indexSpace {
			s.file1(i, h.Hash64(uint64(i)))
		}
		return
	}
	var vs [hashBatch]uint64
	for i := 0; i < indexSpace; i += hashBatch {
		bh.Hash64s(uint64(i), vs[:])
		for j, v := range vs {
			s.file1(i+j, v)
		}
	}
}

// file1 files index i's value v in its coarse bucket, unless that is full.
//
//go:norace
func (s *Solver) file1(i int, v uint64) {
	b := v & coarseMask
	n := s.count1[b]
	if n >= coarseItems {
		return
	}
	s.count1[b] = n + 1
	s.idx1[b][n] = uint16(i)
	s.shared[b][n] = v >> coarseBits
}

// carry is what the low 8 bits of two values from buckets b and -b carry
// into the next bit: 1 unless both are zero.
func carry(b int) uint64 {
	if b != 0 {
		return 1
	}
	return 0
}

// fill adds item i of a complementary bucket, whose value is v, to the fine
// table; false if its fine bucket is full.
//
//go:norace
func (f *fineTable) fill(i int, v uint64) bool {
	fb := v & fineMask
	n := f.counts[fb]
	if n >= fineItems {
		return false
	}
	f.counts[fb] = n + 1
	f.items[fb][n] = uint16(i)
	return true
}

//go:norace
func (s *Solver) round1() {
	s.count2 = [numCoarse]uint16{}
	for b := 0; b <= numCoarse/2; b++ {
		c := complement(b)
		s.fine.counts = [numFine]uint8{}
		for i := range int(s.count1[c]) {
			if s.fine.fill(i, s.shared[c][i]) && c == b {
				s.pairs1(b, i)
			}
		}
		if c != b {
			for i := range int(s.count1[b]) {
				s.pairs1(b, i)
			}
		}
	}
}

// pairs1 pairs stage-1 item i of bucket b with the fine table's items.
//
//go:norace
func (s *Solver) pairs1(b, i int) {
	c := complement(b)
	v := s.shared[b][i] + carry(b)
	fb := -v & fineMask
	for _, j := range s.fine.items[fb][:s.fine.counts[fb]] {
		sum := (v + s.shared[c][j]) >> fineBits
		ob := sum & coarseMask
		n := s.count2[ob]
		if n >= coarseItems {
			continue
		}
		s.count2[ob] = n + 1
		s.pair2[ob][n] = makePair(b, i, int(j))
		s.data2[ob][n] = sum >> coarseBits
	}
}

//go:norace
func (s *Solver) round2() {
	s.count3 = [numCoarse]uint16{}
	for b := 0; b <= numCoarse/2; b++ {
		c := complement(b)
		s.fine.counts = [numFine]uint8{}
		for i := range int(s.count2[c]) {
			if s.fine.fill(i, s.data2[c][i]) && c == b {
				s.pairs2(b, i)
			}
		}
		if c != b {
			for i := range int(s.count2[b]) {
				s.pairs2(b, i)
			}
		}
	}
}

// pairs2 pairs stage-2 item i of bucket b with the fine table's items.
//
//go:norace
func (s *Solver) pairs2(b, i int) {
	c := complement(b)
	v := s.data2[b][i] + carry(b)
	fb := -v & fineMask
	for _, j := range s.fine.items[fb][:s.fine.counts[fb]] {
		sum := (v + s.data2[c][j]) >> fineBits
		ob := sum & coarseMask
		n := s.count3[ob]
		if n >= coarseItems {
			continue
		}
		s.count3[ob] = n + 1
		// The rest of the sum is under 2^28 (stage-2 data is under 2^42),
		// so it fits the upper half.
		s.shared[ob][n] = uint64(makePair(b, i, int(j))) | (sum>>coarseBits)<<32
	}
}

//go:norace
func (s *Solver) round3(dst []Solution) []Solution {
	found := 0
	for b := 0; b <= numCoarse/2; b++ {
		c := complement(b)
		s.fine.counts = [numFine]uint8{}
		for i := range int(s.count3[c]) {
			if s.fine.fill(i, s.data3(c, i)) && c == b {
				dst, found = s.pairs3(b, i, dst, found)
				if found >= MaxSolutions {
					return dst
				}
			}
		}
		if c != b {
			for i := range int(s.count3[b]) {
				dst, found = s.pairs3(b, i, dst, found)
				if found >= MaxSolutions {
					return dst
				}
			}
		}
	}
	return dst
}

// pairs3 pairs stage-3 item i of bucket b with the fine table's items,
// appending each solution, until there are MaxSolutions.
//
//go:norace
func (s *Solver) pairs3(b, i int, dst []Solution, found int) ([]Solution, int) {
	c := complement(b)
	v := s.data3(b, i) + carry(b)
	fb := -v & fineMask
	for _, j := range s.fine.items[fb][:s.fine.counts[fb]] {
		sum := (v + s.data3(c, int(j))) >> fineBits
		if sum&stage1Mask != 0 {
			continue
		}
		dst = append(dst, s.build(s.pair3(b, i), s.pair3(c, int(j))))
		found++
		if found >= MaxSolutions {
			break
		}
	}
	return dst, found
}

// build recovers the eight indices of the stage-3 items left and right
// (stage-2 pairs) and puts them in canonical order, node by node as the
// tree is rebuilt.
func (s *Solver) build(left, right uint32) Solution {
	var sol Solution
	s.buildQuad(&sol, 0, left)
	s.buildQuad(&sol, 4, right)
	orderHalves(&sol)
	return sol
}

// buildQuad writes the four indices of stage-2 pair p at sol[at:].
func (s *Solver) buildQuad(sol *Solution, at int, p uint32) {
	b := pairBucket(p)
	s.buildPair(sol, at, s.pair2[b][pairLeft(p)])
	s.buildPair(sol, at+2, s.pair2[complement(b)][pairRight(p)])
	orderQuad(sol, at)
}

// buildPair writes the two indices of stage-1 pair p at sol[at:].
func (s *Solver) buildPair(sol *Solution, at int, p uint32) {
	b := pairBucket(p)
	sol[at] = s.idx1[b][pairLeft(p)]
	sol[at+1] = s.idx1[complement(b)][pairRight(p)]
	orderPair(sol, at)
}
