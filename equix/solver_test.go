package equix

import (
	"errors"
	"math/bits"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sumsHold is the definition of a solution's sums, apart from verifySums:
// every pair's sum has at least 15 trailing zero bits, every quad's 30, and
// the whole 60.
func sumsHold(h hasher, s Solution) bool {
	zeros := func(from, n int) int {
		var sum uint64
		for _, i := range s[from : from+n] {
			sum += h.Hash64(uint64(i))
		}
		return bits.TrailingZeros64(sum)
	}
	for at := 0; at < NumIndices; at += 2 {
		if zeros(at, 2) < 15 {
			return false
		}
	}
	return zeros(0, 4) >= 30 && zeros(4, 4) >= 30 && zeros(0, 8) >= 60
}

// checkAgainst is Verify's verdict for s under h, without HashX.
func checkAgainst(h hasher, s Solution) error {
	if !inOrder(&s) {
		return ErrOrder
	}
	return verifySums(h, &s)
}

// standInSolutions solves seeds 0..n-1 of every bias.
func standInSolutions(t *testing.T, n int) map[standIn][]Solution {
	t.Helper()
	var s Solver
	out := make(map[standIn][]Solution)
	for bias := range numBiases {
		for seed := range n {
			h := standIn{seed: uint64(seed), bias: bias}
			out[h] = s.solve(h, nil)
		}
	}
	return out
}

func TestEverySolutionVerifies(t *testing.T) {
	total := 0
	for h, sols := range standInSolutions(t, 20) {
		require.LessOrEqual(t, len(sols), MaxSolutions)
		for _, sol := range sols {
			require.NoError(t, checkAgainst(h, sol), "%+v %04x", h, sol)
			require.True(t, sumsHold(h, sol), "%+v %04x", h, sol)
			require.True(t, wireOrdered(sol), "%+v %04x", h, sol)
			total++
		}
	}
	// About two solutions a challenge (the biased ones find fewer).
	require.Greater(t, total, 100)
}

// verdictFor is what Verify must say of s, a rearrangement or change of a
// solution under h, by the definitions rather than by verifySums.
func verdictFor(h hasher, s Solution) []error {
	switch {
	case !wireOrdered(s):
		return []error{ErrOrder}
	case sumsHold(h, s):
		return []error{nil}
	default:
		return []error{ErrPartialSum, ErrFinalSum}
	}
}

func TestEveryPermutationButOneFails(t *testing.T) {
	checked := 0
	for h, sols := range standInSolutions(t, 3) {
		for _, sol := range sols {
			ordered, valid := 0, 0
			permute(sol, func(p Solution) {
				got := checkAgainst(h, p)
				require.Contains(t, verdictFor(h, p), got, "%04x", p)
				if got == nil {
					valid++
					require.Equal(t, sol, p)
				}
				if got != ErrOrder {
					ordered++
				}
			})
			require.Positive(t, valid)
			if distinct(sol) {
				// One arrangement of each of the 315 trees of eight
				// leaves is in order; only the solution's own tree sums.
				require.Equal(t, 1, valid)
				require.Equal(t, 315, ordered)
			}
			checked++
		}
	}
	require.Greater(t, checked, 10)
}

// permute calls f with every arrangement of s (Heap's algorithm).
func permute(s Solution, f func(Solution)) {
	var c [NumIndices]int
	f(s)
	for i := 0; i < NumIndices; {
		if c[i] < i {
			if i%2 == 0 {
				s[0], s[i] = s[i], s[0]
			} else {
				s[c[i]], s[i] = s[i], s[c[i]]
			}
			f(s)
			c[i]++
			i = 0
		} else {
			c[i] = 0
			i++
		}
	}
}

func distinct(s Solution) bool {
	seen := map[uint16]bool{}
	for _, i := range s {
		seen[i] = true
	}
	return len(seen) == NumIndices
}

func TestSwappingSubtreesFails(t *testing.T) {
	swaps := []struct {
		name      string
		at, width int
	}{
		{"pair 0", 0, 1}, {"pair 1", 2, 1}, {"pair 2", 4, 1}, {"pair 3", 6, 1},
		{"quad 0", 0, 2}, {"quad 1", 4, 2}, {"halves", 0, 4},
	}
	for h, sols := range standInSolutions(t, 20) {
		for _, sol := range sols {
			for _, sw := range swaps {
				p := sol
				for k := range sw.width {
					p[sw.at+k], p[sw.at+sw.width+k] = p[sw.at+sw.width+k], p[sw.at+k]
				}
				if p == sol {
					continue // equal subtrees
				}
				assert.ErrorIs(t, checkAgainst(h, p), ErrOrder, "%s of %04x", sw.name, sol)
			}
		}
	}
}

func TestChangedIndexFails(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for h, sols := range standInSolutions(t, 20) {
		for _, sol := range sols {
			for k := range NumIndices {
				for _, p := range []Solution{sol, sol, sol} {
					p[k]++
					if r.IntN(2) == 0 {
						p[k] ^= 1 << r.IntN(16)
					}
					if p == sol {
						continue
					}
					got := checkAgainst(h, p)
					require.Contains(t, verdictFor(h, p), got, "%04x from %04x", p, sol)
					require.Error(t, got)
				}
			}
		}
	}
}

func TestVerifySumsReportsFirstFailure(t *testing.T) {
	// A hash whose values are chosen per index.
	vals := map[uint64]uint64{}
	h := tableHash(vals)
	s := Solution{0, 1, 2, 3, 4, 5, 6, 7}
	set := func(v ...uint64) {
		for i, x := range v {
			vals[uint64(i)] = x
		}
	}
	set(0, 0, 0, 0, 0, 0, 0, 0)
	require.NoError(t, verifySums(h, &s))
	set(1, 0, 0, 0, 0, 0, 0, 0)
	require.ErrorIs(t, verifySums(h, &s), ErrPartialSum)
	set(1<<15, 0, 1<<15, 0, 0, 0, 0, 0) // quad 0 sums to 2^16
	require.ErrorIs(t, verifySums(h, &s), ErrPartialSum)
	set(0, 0, 0, 0, 0, 0, 0, 1<<30-1<<15) // pair 3 is fine, quad 1 is not
	require.ErrorIs(t, verifySums(h, &s), ErrPartialSum)
	set(1<<30, 0, 0, 0, 0, 0, 0, 0) // every partial sum holds, the total does not
	require.ErrorIs(t, verifySums(h, &s), ErrFinalSum)
	set(1<<62, 0, 0, 0, 0, 0, 0, 1<<60) // bits above 60 do not count
	require.NoError(t, verifySums(h, &s))
}

type tableHash map[uint64]uint64

func (t tableHash) Hash64(i uint64) uint64 { return t[i] }

func TestSolverReuseForgetsEarlierChallenges(t *testing.T) {
	a := standIn{seed: 11}
	b := standIn{seed: 12, bias: biasAll}
	var fresh1, fresh2, reused Solver
	wantA := fresh1.solve(a, nil)
	wantB := fresh2.solve(b, nil)
	require.NotEmpty(t, wantA)
	for range 2 {
		require.Equal(t, wantB, reused.solve(b, nil))
		require.Equal(t, wantA, reused.solve(a, nil))
	}
}

func TestSolveAppendsToDstFromZero(t *testing.T) {
	h := standIn{seed: 11}
	var s Solver
	want := s.solve(h, nil)
	require.NotEmpty(t, want)
	dst := make([]Solution, 3, MaxSolutions)
	got := s.solve(h, dst[:0])
	require.Equal(t, want, got)
	require.Same(t, &dst[:1][0], &got[0], "dst's array is reused")
}

func TestSolversOnManyGoroutines(t *testing.T) {
	const workers, each = 4, 3
	want := make([][]Solution, workers*each)
	var s Solver
	for i := range want {
		want[i] = s.solve(standIn{seed: uint64(i)}, nil)
	}
	got := make([][]Solution, len(want))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			solver := NewSolver()
			for k := range each {
				i := w*each + k
				got[i] = solver.solve(standIn{seed: uint64(i)}, nil)
			}
		})
	}
	wg.Wait()
	require.Equal(t, want, got)
}

func TestSolverFitsTwoMiB(t *testing.T) {
	size := unsafeSizeof()
	require.Less(t, size, uintptr(2<<20))
	t.Logf("Solver is %d bytes (%.2f MiB)", size, float64(size)/(1<<20))
}

func FuzzVerifySums(f *testing.F) {
	f.Add(uint64(0), make([]byte, SolutionSize))
	var s Solver
	h := standIn{seed: 7}
	for _, sol := range s.solve(h, nil) {
		b, _ := sol.AppendBinary(nil)
		f.Add(uint64(7), b)
	}
	f.Fuzz(func(t *testing.T, seed uint64, b []byte) {
		sol, err := SolutionFromBytes(b)
		if err != nil {
			return
		}
		h := standIn{seed: seed}
		got := checkAgainst(h, sol)
		if got != nil && !errors.Is(got, ErrOrder) && !errors.Is(got, ErrPartialSum) && !errors.Is(got, ErrFinalSum) {
			t.Fatalf("unexpected error %v", got)
		}
		require.Equal(t, got == nil, wireOrdered(sol) && sumsHold(h, sol))
	})
}

// TestSolveAllocs: a reused Solver allocates only what hashx.New does (the
// decoded program), compiled or interpreted.
func TestSolveAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, interpret := range []bool{false, true} {
		s := Solver{Interpret: interpret}
		dst := make([]Solution, 0, MaxSolutions)
		challenge := []byte("abc")
		dst, _ = s.Solve(challenge, dst)
		if a := testing.AllocsPerRun(2, func() { dst, _ = s.Solve(challenge, dst) }); a != 1 {
			t.Errorf("%s: %v allocations per Solve, want 1", s.Engine(), a)
		}
		s.Close()
	}
}
