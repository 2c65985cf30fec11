package equix

import "testing"

// BenchmarkSolverStandIn is the solver's own cost: the stand-in hash costs
// a few nanoseconds, HashX some hundreds.
func BenchmarkSolverStandIn(b *testing.B) {
	var s Solver
	dst := make([]Solution, 0, MaxSolutions)
	seed := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		dst = s.solve(standIn{seed: seed}, dst[:0])
		seed++
	}
}

// BenchmarkStandInHashes is the stand-in hash over every index, to
// subtract from BenchmarkSolverStandIn.
func BenchmarkStandInHashes(b *testing.B) {
	h := standIn{seed: 1}
	var x uint64
	for b.Loop() {
		for i := range indexSpace {
			x += h.Hash64(uint64(i))
		}
	}
	sink = x
}

var sink uint64
