package equix

import "github.com/powtcp/powtcp/hashx"

// The solver's memory is a set of bucketed hash tables whose sizes are part
// of the puzzle's definition in practice: the reference solver drops an item
// that finds its bucket full, so a solver with other sizes finds another set
// of solutions. These are the reference's sizes (tevador/equix
// src/solver_heap.h).
const (
	indexSpace  = 1 << 16 // every 16-bit index is hashed once
	numCoarse   = 256     // coarse buckets: the low 8 bits of a value
	numFine     = 128     // fine buckets: the next 7 bits
	coarseItems = 336     // capacity of one coarse bucket
	fineItems   = 12      // capacity of one fine bucket

	coarseMask = numCoarse - 1
	fineMask   = numFine - 1
	coarseBits = 8
	fineBits   = 7
)

// The partial-sum masks a solution must meet: a pair's sum has 15 trailing
// zero bits, a quad's 30, and all eight sum to zero modulo 2^60.
const (
	stage1Mask = 1<<15 - 1
	stage2Mask = 1<<30 - 1
	fullMask   = 1<<60 - 1
)

// fineTable sorts one coarse bucket's items by their next 7 bits, holding
// item positions within that coarse bucket.
type fineTable struct {
	counts [numFine]uint8
	items  [numFine][fineItems]uint16
}

// A pair made at stage 1 or 2 is recorded as the coarse bucket b its left
// item came from and the positions of its left item (in b) and its right
// item (in the complementary bucket -b mod 256): left<<17 | right<<8 | b.
func makePair(bucket, left, right int) uint32 {
	return uint32(left)<<17 | uint32(right)<<8 | uint32(bucket)
}

func pairBucket(p uint32) int { return int(p & coarseMask) }
func pairLeft(p uint32) int   { return int(p >> 17) }
func pairRight(p uint32) int  { return int(p>>8) & 511 }

// complement is the coarse bucket whose values, added to those in b, give a
// multiple of 256.
func complement(b int) int { return -b & coarseMask }

// Solver holds the solver's memory (1.81 MiB, under 2 MiB) for reuse; one
// per worker goroutine, not safe for concurrent use. Its zero value is
// ready to use. It runs HashX compiled to machine code where package hashx
// can (hashx.Compiled), in a code mapping it keeps between challenges.
type Solver struct {
	// Interpret, set before a Solve, makes the Solver interpret HashX
	// programs even where it could compile them.
	Interpret bool

	machine hashx.Machine // HashX for the challenge being solved

	// Stage 1: the hash values by their low 8 bits; idx1 holds each item's
	// index, and shared holds the value's upper 56 bits.
	count1 [numCoarse]uint16
	idx1   [numCoarse][coarseItems]uint16

	// Stage 2: sums of pairs (with 15 trailing zero bits dropped) by their
	// next 8 bits; pair2 names the two stage-1 items, data2 holds the rest
	// of the sum.
	count2 [numCoarse]uint16
	pair2  [numCoarse][coarseItems]uint32
	data2  [numCoarse][coarseItems]uint64

	// Stage 3: sums of two stage-2 items by their next 8 bits. Stage 3
	// items are made only after stage 1's data is spent, so they live in
	// the same memory (as the reference's union does): each entry of
	// shared is then the pair (low 32 bits) and the rest of the sum (high
	// 32 bits).
	count3 [numCoarse]uint16
	shared [numCoarse][coarseItems]uint64

	fine fineTable
}

// NewSolver allocates a Solver.
func NewSolver() *Solver { return new(Solver) }

func (s *Solver) pair3(b, i int) uint32 { return uint32(s.shared[b][i]) }
func (s *Solver) data3(b, i int) uint64 { return s.shared[b][i] >> 32 }
