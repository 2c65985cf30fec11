package equix

import "testing"

// BenchmarkSolve is one challenge's solve with a reused Solver, HashX
// included: the figure to set beside the reference's equix-bench.
func BenchmarkSolve(b *testing.B) {
	var s Solver
	dst := make([]Solution, 0, MaxSolutions)
	n, found := uint32(0), 0
	b.ReportAllocs()
	for b.Loop() {
		var err error
		dst, err = s.Solve(nonce(n), dst)
		if err == nil {
			found += len(dst)
		}
		n++
	}
	b.ReportMetric(float64(found)/float64(n), "solutions/op")
}

// BenchmarkSolvePooled is the package-level Solve, borrowing a Solver.
func BenchmarkSolvePooled(b *testing.B) {
	n := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Solve(nonce(n))
		n++
	}
}

// BenchmarkHashAll is the HashX part of a solve: program generation and
// 65,536 evaluations.
func BenchmarkHashAll(b *testing.B) {
	n := uint32(0)
	var x uint64
	b.ReportAllocs()
	for b.Loop() {
		h, err := newHash(nonce(n))
		n++
		if err != nil {
			continue
		}
		for i := range indexSpace {
			x += h.Hash64(uint64(i))
		}
	}
	sink = x
}

// BenchmarkVerify checks valid solutions of distinct challenges, HashX
// program generation included (as a server pays it).
func BenchmarkVerify(b *testing.B) {
	type item struct {
		challenge []byte
		sol       Solution
	}
	var items []item
	var s Solver
	for n := uint32(0); len(items) < 64; n++ {
		sols, _ := s.Solve(nonce(n), nil)
		for _, sol := range sols {
			items = append(items, item{nonce(n), sol})
		}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		it := items[i%len(items)]
		if err := Verify(it.challenge, it.sol); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyOrderFail is Verify refusing an out-of-order solution:
// no hashing at all.
func BenchmarkVerifyOrderFail(b *testing.B) {
	bad := Solution{7, 6, 5, 4, 3, 2, 1, 0}
	b.ReportAllocs()
	for b.Loop() {
		if Verify([]byte("a"), bad) == nil {
			b.Fatal("accepted")
		}
	}
}
