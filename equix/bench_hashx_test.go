package equix

import (
	"testing"

	"github.com/powtcp/powtcp/hashx"
)

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

// BenchmarkSolveInterpreted is BenchmarkSolve with HashX interpreted
// (Solver.Interpret): the compiler's gain.
func BenchmarkSolveInterpreted(b *testing.B) {
	s := Solver{Interpret: true}
	dst := make([]Solution, 0, MaxSolutions)
	n := uint32(0)
	for b.Loop() {
		dst, _ = s.Solve(nonce(n), dst)
		n++
	}
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

// verifyItem is a valid solution and its challenge.
type verifyItem struct {
	challenge []byte
	sol       Solution
}

// verifyItems are 64 valid solutions of distinct nonces.
func verifyItems() []verifyItem {
	var items []verifyItem
	var s Solver
	defer s.Close()
	for n := uint32(0); len(items) < 64; n++ {
		sols, _ := s.Solve(nonce(n), nil)
		for _, sol := range sols {
			items = append(items, verifyItem{nonce(n), sol})
		}
	}
	return items
}

// BenchmarkHashAllCompiled is BenchmarkHashAll with HashX compiled into a
// reused hashx.Machine (program generation, compiling and 65,536
// evaluations): the figure to set beside the reference's hashx-bench.
func BenchmarkHashAllCompiled(b *testing.B) {
	var m hashx.Machine
	defer m.Close()
	var vs [hashBatch]uint64
	n := uint32(0)
	var x uint64
	b.ReportAllocs()
	for b.Loop() {
		h, err := hashx.New(nonce(n))
		n++
		if err != nil {
			continue
		}
		m.Load(h)
		for i := 0; i < indexSpace; i += hashBatch {
			m.Hash64s(uint64(i), vs[:])
			x += vs[0]
		}
	}
	sink = x
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*indexSpace), "ns/hash")
}

// BenchmarkVerify checks valid solutions of distinct challenges, HashX
// program generation included (as a server pays it).
func BenchmarkVerify(b *testing.B) {
	items := verifyItems()
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

// BenchmarkVerifyCompiled is BenchmarkVerify with HashX compiled into a
// reused hashx.Machine: what compiling would cost or save Verify.
func BenchmarkVerifyCompiled(b *testing.B) {
	items := verifyItems()
	var m hashx.Machine
	defer m.Close()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		it := items[i%len(items)]
		h, err := hashx.New(it.challenge)
		if err != nil {
			b.Fatal(err)
		}
		m.Load(h)
		if err := verifySums(&m, &it.sol); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if m.Engine() != hashx.Engine() {
		b.Fatalf("engine %s", m.Engine())
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
