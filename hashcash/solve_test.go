package hashcash

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSolve(t *testing.T) {
	clk := newClock(t0)
	for _, alg := range []Alg{SHA256, SHA1} {
		m := newTestMinter(t, alg, clk.Now)
		for bits := 0; bits <= 16; bits++ {
			workers := 1 + bits%2
			t.Run(fmt.Sprintf("%v/bits=%d/workers=%d", alg, bits, workers), func(t *testing.T) {
				prefix := m.Challenge(bits, testResource)
				res, err := Solve(context.Background(), prefix, SolveOptions{Workers: workers})
				require.NoError(t, err)
				assert.True(t, strings.HasPrefix(res.Stamp, prefix))
				assert.GreaterOrEqual(t, ZeroBits(alg, res.Stamp), bits)
				assert.Positive(t, res.Attempts)
				assert.Positive(t, res.Elapsed)

				st, err := Parse(res.Stamp)
				require.NoError(t, err)
				assert.LessOrEqual(t, len(st.Counter), MaxCounterLen)
				_, _, err = m.Verify(res.Stamp, testResource)
				assert.NoError(t, err)
				_, err = Check(res.Stamp, Policy{Alg: alg, MinBits: bits, Resource: testResource, Now: t0})
				assert.NoError(t, err)
			})
		}
	}
}

// TestSolvePrefixLengths solves prefixes of every length modulo the block
// size, up to MaxPrefixLen, and checks that the stamps stay within limits.
func TestSolvePrefixLengths(t *testing.T) {
	const head = "1:4:261125:r:sha256:"
	for n := len(head) + 2; n <= MaxPrefixLen; n++ {
		if n < MaxPrefixLen-2*blockSize && n%blockSize > 3 && n%blockSize < blockSize-3 {
			continue // the interesting lengths are near block boundaries and the limit
		}
		prefix := head + strings.Repeat("x", n-len(head)-1) + ":"
		require.Len(t, prefix, n)
		res, err := Solve(context.Background(), prefix, SolveOptions{Workers: 1})
		require.NoError(t, err, "prefix length %d", n)
		_, err = Check(res.Stamp, Policy{MinBits: 4, Now: t0})
		require.NoError(t, err, "prefix length %d: %s", n, res.Stamp)
	}
}

// TestSearcher checks the midstate shortcut against hashing each candidate
// whole, across rounds and carries of the odometer, for both hashes and for
// prefixes that end just before, at and after a block boundary.
func TestSearcher(t *testing.T) {
	for _, alg := range []Alg{SHA256, SHA1} {
		for _, n := range []int{62, 63, 64, 65, 127, 128} {
			prefix := "1:0:261125:r:" + alg.Ext() + ":" + strings.Repeat("x", n-15-len(alg.Ext())) + ":"
			require.Len(t, prefix, n)
			s := newSearcher(alg, prefix, 0, 4095)
			require.Zero(t, (len(s.msg)-tailLen-odoLen)%blockSize, "prefix and filler are whole blocks")
			for i := range 64 * tailLen * 2 {
				if i%tailLen == 0 && i > 0 { // skip ahead across odometer carries
					for range 60 {
						s.next()
					}
				}
				tried, found := s.search(1)
				require.True(t, found)
				require.Equal(t, uint64(1), tried)
				var want []byte
				if alg == SHA1 {
					sum := sha1.Sum(s.stamp())
					want = sum[:]
				} else {
					sum := sha256.Sum256(s.stamp())
					want = sum[:]
				}
				require.Equal(t, want, s.sum, "%v prefix length %d attempt %d: %s", alg, n, i, s.stamp())
			}
		}
	}
}

func TestSearcherCandidates(t *testing.T) {
	const prefix = "1:0:261125:r:sha256:x:"
	s := newSearcher(SHA256, prefix, 0, 0)
	seen := map[string]bool{}
	for range 64*tailLen + 10 {
		s.search(1)
		c := string(s.stamp())
		require.False(t, seen[c], "repeated candidate %s", c)
		seen[c] = true
		st, err := Parse(c)
		require.NoError(t, err)
		require.LessOrEqual(t, len(st.Counter), MaxCounterLen)
	}
	assert.Equal(t, "AAAAAABA", string(s.odo), "the odometer carried")

	a := newSearcher(SHA256, prefix, 0, 1)
	b := newSearcher(SHA256, prefix, 0, 64)
	a.search(1)
	b.search(1)
	assert.NotEqual(t, string(a.stamp()), string(b.stamp()), "workers search distinct counters")
}

func TestSearcherNoAllocs(t *testing.T) {
	for _, alg := range []Alg{SHA256, SHA1} {
		s := newSearcher(alg, "1:64:261125:r:"+alg.Ext()+":x:", 64, 0)
		allocs := testing.AllocsPerRun(10, func() { s.search(1000) })
		assert.Zero(t, allocs, "%v", alg)
	}
}

func TestSolveErrors(t *testing.T) {
	tests := []struct {
		give    string
		wantErr error
	}{
		{give: "", wantErr: ErrMalformed},
		{give: "1:8:261125:r:sha256:x:counter", wantErr: ErrMalformed},
		{give: "1:8:261125:r:md5:x:", wantErr: ErrAlg},
		{give: "1:65:261125:r:sha256:x:", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		_, err := Solve(context.Background(), tt.give, SolveOptions{})
		assert.ErrorIs(t, err, tt.wantErr, "%q", tt.give)
	}
}

// impossible is a challenge no search finishes.
const impossible = "1:64:261125120000:r:sha256:x:"

func TestSolveCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := Solve(ctx, impossible, SolveOptions{
			Workers:          2,
			ProgressInterval: time.Millisecond,
			Progress: func(uint64) {
				select {
				case <-started:
				default:
					close(started)
				}
			},
		})
		done <- err
	}()
	<-started
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("Solve did not return after cancel")
	}
}

func TestSolveCanceledBefore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Solve(ctx, "1:0:261125120000:r:sha256:x:", SolveOptions{})
	assert.ErrorIs(t, err, context.Canceled, "even an easy challenge is not solved")
	assert.Empty(t, res.Stamp)
}

func TestSolveDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	res, err := Solve(ctx, impossible, SolveOptions{Workers: 1})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, res.Stamp)
	assert.Positive(t, res.Attempts)
	assert.Less(t, res.Elapsed, 5*time.Second)
}

func TestSolveProgress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls, inside atomic.Int32
	var last uint64
	var concurrent, backwards bool
	res, err := Solve(ctx, impossible, SolveOptions{
		ProgressInterval: time.Millisecond,
		Progress: func(attempts uint64) {
			if inside.Add(1) != 1 {
				concurrent = true
			}
			defer inside.Add(-1)
			if attempts < last {
				backwards = true
			}
			last = attempts
			if calls.Add(1) == 5 {
				cancel()
			}
		},
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.GreaterOrEqual(t, calls.Load(), int32(5))
	assert.False(t, concurrent, "Progress called concurrently")
	assert.False(t, backwards, "attempts went backwards")
	assert.GreaterOrEqual(t, res.Attempts, last)
}

func TestResultHashRate(t *testing.T) {
	assert.Equal(t, 2000.0, Result{Attempts: 1000, Elapsed: 500 * time.Millisecond}.HashRate())
	assert.Zero(t, Result{Attempts: 1000}.HashRate())
}
