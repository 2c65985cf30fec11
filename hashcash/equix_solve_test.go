package hashcash

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/powtcp/powtcp/equix"
)

// These tests run the real Equi-X solver and verifier.

func TestSolveEquix(t *testing.T) {
	clk := newClock(t0)
	m := newTestMinter(t, Equix, clk.Now)
	for bits := 0; bits <= 5; bits++ {
		workers := 1 + bits%2
		t.Run(fmt.Sprintf("bits=%d/workers=%d", bits, workers), func(t *testing.T) {
			prefix := m.Challenge(bits, testResource)
			res, err := Solve(context.Background(), prefix, SolveOptions{Workers: workers})
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(res.Stamp, prefix))
			assert.GreaterOrEqual(t, ZeroBits(Equix, res.Stamp), bits)
			assert.Positive(t, res.Attempts)
			st, err := Parse(res.Stamp)
			require.NoError(t, err)
			assert.Len(t, st.Counter, EquixCounterLen)

			nonce, sol, err := ParseEquixCounter(st.Counter)
			require.NoError(t, err)
			require.NoError(t, equix.Verify(EquixChallenge(nil, prefix, nonce), sol))
			_, _, err = m.Verify(res.Stamp, testResource)
			require.NoError(t, err)
			_, err = Check(res.Stamp, Policy{Alg: Equix, MinBits: bits, Resource: testResource, Now: t0})
			require.NoError(t, err)

			// The same solution under another nonce solves nothing.
			nonce[7] ^= 1
			other := prefix + EquixCounter(nonce, sol)
			if ZeroBits(Equix, other) >= bits {
				_, _, err = m.Verify(other, testResource)
				require.ErrorIs(t, err, ErrBits)
			}
		})
	}
}

// TestVerifyEquixReal: the real verifier's refusals reach the caller as
// ErrBits with the equix error.
func TestVerifyEquixReal(t *testing.T) {
	clk := newClock(t0)
	m := newTestMinter(t, Equix, clk.Now)
	prefix := m.Challenge(1, testResource)
	reversed := equix.Solution{7, 6, 5, 4, 3, 2, 1, 0}
	stamp, _ := equixStamp(t, prefix, reversed)
	_, _, err := m.Verify(stamp, testResource)
	require.ErrorIs(t, err, ErrBits)
	require.ErrorIs(t, err, equix.ErrOrder)

	stamp, _ = equixStamp(t, prefix, ascending)
	_, _, err = m.Verify(stamp, testResource)
	require.ErrorIs(t, err, ErrBits)
	require.True(t, errorIsAny(err, equix.ErrPartialSum, equix.ErrFinalSum, equix.ErrChallenge), "%v", err)
}

func errorIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// TestSolveEquixCancel: a solve that cannot succeed stops when its context
// is canceled, between nonces.
func TestSolveEquixCancel(t *testing.T) {
	prefix := "1:60:261125:r:equix:AAAA:"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var progress atomic.Int32
	res, err := Solve(ctx, prefix, SolveOptions{Workers: 2, ProgressInterval: time.Millisecond, Progress: func(n uint64) {
		if n > 0 && progress.Add(1) == 1 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, res.Stamp)
	assert.Positive(t, res.Attempts, "solutions were tried before the cancel")

	res, err = Solve(ctx, prefix, SolveOptions{})
	require.ErrorIs(t, err, context.Canceled, "already canceled")
	assert.Zero(t, res.Attempts)
}

// BenchmarkSolveEquixNonce is one Equi-X solve and the effort hashes of its
// solutions: the honest client's unit of work (solutions/op too).
func BenchmarkSolveEquixNonce(b *testing.B) {
	const prefix = "1:64:261125120000:127.0.0.1@powtcp:equix:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:"
	var tried atomic.Uint64
	a := newEquixAcceptor(prefix, 64, &tried)
	next := equixNonces(prefix)
	s := equix.NewSolver()
	defer s.Close()
	var sols []equix.Solution
	for b.Loop() {
		challenge, _ := next()
		sols, _ = s.Solve(challenge, sols)
		for _, sol := range sols {
			a.accept(challenge, sol)
		}
	}
	b.ReportMetric(float64(tried.Load())/float64(b.N), "solutions/op")
}

// BenchmarkVerifyEquix is Minter.Verify of a valid Equi-X stamp: what the
// server spends on a stamp that passed the cheap checks.
func BenchmarkVerifyEquix(b *testing.B) {
	clk := newClock(t0)
	m := newTestMinter(b, Equix, clk.Now)
	res, err := Solve(context.Background(), m.Challenge(0, testResource), SolveOptions{Workers: 1})
	require.NoError(b, err)
	for b.Loop() {
		if _, _, err := m.Verify(res.Stamp, testResource); err != nil {
			b.Fatal(err)
		}
	}
}
