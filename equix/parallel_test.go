package equix

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// standInFor is a stand-in "HashX" keyed by an 8-byte challenge; other
// lengths are unusable challenges.
func standInFor(challenge []byte) (hasher, error) {
	if len(challenge) != 8 {
		return nil, ErrChallenge
	}
	return standIn{seed: binary.LittleEndian.Uint64(challenge)}, nil
}

// counter gives challenges 0, 1, ... (as 8 bytes), with an unusable one
// between each two, up to limit.
type counter struct {
	n, limit uint64
}

func (c *counter) next() ([]byte, bool) {
	if c.n >= c.limit {
		return nil, false
	}
	c.n++
	if c.n%2 == 0 {
		return []byte("bad"), true
	}
	return binary.LittleEndian.AppendUint64(nil, c.n/2), true
}

func TestSolveContextFindsAcceptedSolution(t *testing.T) {
	c := &counter{limit: 1000}
	offered := 0
	accept := func(challenge []byte, s Solution) bool {
		// accept runs on the workers' goroutines: assert, not require.
		h, err := standInFor(challenge)
		if assert.NoError(t, err) {
			assert.NoError(t, checkAgainst(h, s))
		}
		offered++
		return offered == 5
	}
	challenge, sol, err := solveContext(t.Context(), 4, c.next, accept, standInFor)
	require.NoError(t, err)
	require.Equal(t, 5, offered)
	h, err := standInFor(challenge)
	require.NoError(t, err)
	require.NoError(t, checkAgainst(h, sol))
}

func TestSolveContextExhausted(t *testing.T) {
	c := &counter{limit: 9}
	_, _, err := solveContext(t.Context(), 3, c.next, func([]byte, Solution) bool { return false }, standInFor)
	require.ErrorIs(t, err, ErrExhausted)
	require.Equal(t, uint64(9), c.n)
}

func TestSolveContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var calls atomic.Int64
	next := func() ([]byte, bool) {
		if calls.Add(1) == 6 {
			cancel()
		}
		return binary.LittleEndian.AppendUint64(nil, uint64(calls.Load())), true
	}
	_, _, err := solveContext(ctx, 2, next, func([]byte, Solution) bool { return false }, standInFor)
	require.ErrorIs(t, err, context.Canceled)
	// No challenge is taken once the context is done.
	require.Equal(t, int64(6), calls.Load())
}

func TestSolveContextAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	next := func() ([]byte, bool) { t.Error("next called after cancel"); return nil, false }
	_, _, err := solveContext(ctx, 0, next, func([]byte, Solution) bool { return true }, standInFor)
	require.ErrorIs(t, err, context.Canceled)
}
