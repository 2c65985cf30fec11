package hashcash

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
)

// The benchmarks in this file make one run that compares the solver with
// its baseline, one SHA-256 block per hash:
//
//	go test -run '^$' -bench . -benchtime 3s -count 5 ./hashcash
//
// BenchmarkSolve's hashes/s divided by BenchmarkSHA256OneBlock's is the
// solver's efficiency per core (workers=1) and its scaling (workers=2 over
// workers=1).

// BenchmarkSHA256OneBlock is the baseline: sha256.Sum256 of a 32-byte input,
// which is one block compression, with a changing counter in the input.
func BenchmarkSHA256OneBlock(b *testing.B) {
	var in [32]byte
	var i uint64
	for b.Loop() {
		i++
		in[0], in[1], in[2] = byte(i), byte(i>>8), byte(i>>16)
		sum := sha256.Sum256(in[:])
		in[31] ^= sum[0]
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// BenchmarkSHA1OneBlock is the baseline for SHA-1 stamps.
func BenchmarkSHA1OneBlock(b *testing.B) {
	var in [32]byte
	var i uint64
	for b.Loop() {
		i++
		in[0], in[1], in[2] = byte(i), byte(i>>8), byte(i>>16)
		sum := sha1.Sum(in[:])
		in[31] ^= sum[0]
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// solveBenchBits makes one solve about a million attempts, long enough that
// starting the workers does not count.
const solveBenchBits = 20

func benchmarkSolve(b *testing.B, alg Alg) {
	m := newTestMinter(b, alg, nil)
	for _, workers := range []int{1, 2} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			var attempts uint64
			for b.Loop() {
				res, err := Solve(context.Background(), m.Challenge(solveBenchBits, testResource), SolveOptions{Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				attempts += res.Attempts
			}
			b.ReportMetric(float64(attempts)/b.Elapsed().Seconds(), "hashes/s")
		})
	}
}

// BenchmarkSolve solves SHA-256 challenges of solveBenchBits bits.
func BenchmarkSolve(b *testing.B) { benchmarkSolve(b, SHA256) }

// BenchmarkSolveSHA1 solves SHA-1 challenges of solveBenchBits bits.
func BenchmarkSolveSHA1(b *testing.B) { benchmarkSolve(b, SHA1) }

// BenchmarkAttempt compares ways to try one counter on one core: the
// solver's (restore the saved hash state once per round, then one more
// byte and Sum per attempt: one block), restoring the saved state for every
// attempt (one block), and hashing the whole candidate stamp with
// sha256.Sum256 (three blocks here).
func BenchmarkAttempt(b *testing.B) {
	m := newTestMinter(b, SHA256, nil)
	prefix := m.Challenge(MaxBits, testResource)
	b.Run("solver", func(b *testing.B) {
		s := newSearcher(SHA256, prefix, MaxBits, 0)
		b.ReportAllocs()
		for b.Loop() {
			s.search(1)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
	b.Run("restore-each", func(b *testing.B) {
		s := newSearcher(SHA256, prefix, MaxBits, 0)
		counter := s.msg[len(s.msg)-tailLen-odoLen : len(s.msg)-tailLen+1]
		sum := make([]byte, 0, sha256.Size)
		b.ReportAllocs()
		for b.Loop() {
			s.next()
			_ = s.restore.UnmarshalBinary(s.state)
			s.h.Write(counter)
			sum = s.h.Sum(sum[:0])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
	b.Run("whole", func(b *testing.B) {
		s := newSearcher(SHA256, prefix, MaxBits, 0)
		stamp := s.msg[:len(s.msg)-tailLen+1]
		b.ReportAllocs()
		for b.Loop() {
			s.next()
			sha256.Sum256(stamp)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
}

// BenchmarkChallenge is the cost of issuing a challenge.
func BenchmarkChallenge(b *testing.B) {
	m := newTestMinter(b, SHA256, nil)
	b.ReportAllocs()
	for b.Loop() {
		m.Challenge(20, testResource)
	}
}

// BenchmarkChallengeParallel issues challenges from all cores.
func BenchmarkChallengeParallel(b *testing.B) {
	m := newTestMinter(b, SHA256, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Challenge(20, testResource)
		}
	})
}

// BenchmarkVerify is the cost of verifying a valid stamp: parse, MAC, hash.
func BenchmarkVerify(b *testing.B) {
	clk := newClock(t0)
	m := newTestMinter(b, SHA256, clk.Now)
	stamp := solve(b, m.Challenge(8, testResource))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Verify(stamp, testResource); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyForged is the cost of refusing a stamp with a bad MAC.
func BenchmarkVerifyForged(b *testing.B) {
	clk := newClock(t0)
	m := newTestMinter(b, SHA256, clk.Now)
	stamp := setField(solve(b, m.Challenge(8, testResource)), fieldBits, "7")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Verify(stamp, testResource); err == nil {
			b.Fatal("accepted")
		}
	}
}

// BenchmarkSpend spends distinct keys at 1000 a second of fake time, each
// for a minute, so the store holds about 60,000 entries and drops one
// expired entry per Spend.
func BenchmarkSpend(b *testing.B) {
	clk := newClock(t0)
	s := NewMemoryStore(100_000, 100_000, clk.Now)
	m := newTestMinter(b, SHA256, nil)
	keys := make([]string, 1<<17) // reused after 131 s of fake time, long expired
	for i := range keys {
		keys[i] = m.Challenge(20, testResource)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clk.Advance(time.Millisecond)
		if err := s.Spend(keys[i%len(keys)], "", clk.Now().Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
