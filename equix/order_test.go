package equix

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// wireOrdered is the canonical order stated on the wire form, apart from
// inOrder's arithmetic: at every node of the tree the left subtree's bytes,
// read as a little-endian integer, are at most the right one's.
func wireOrdered(s Solution) bool {
	w, _ := s.AppendBinary(nil)
	le := func(b []byte) uint64 {
		var x [8]byte
		copy(x[:], b)
		return binary.LittleEndian.Uint64(x[:])
	}
	for width := 2; width <= 8; width *= 2 {
		for at := 0; at < SolutionSize; at += 2 * width {
			if le(w[at:at+width]) > le(w[at+width:at+2*width]) {
				return false
			}
		}
	}
	return true
}

func TestInOrderMatchesWireForm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var s Solution
		for i := range s {
			// Few distinct values, so that ties are common.
			s[i] = uint16(r.IntN(4)) * 0x3fff
			if r.IntN(2) == 0 {
				s[i] = uint16(r.Uint32())
			}
		}
		require.Equal(t, wireOrdered(s), inOrder(&s), "%04x", s)
	}
}

func TestOrderCanonicalizes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		var s Solution
		for i := range s {
			s[i] = uint16(r.IntN(8))
		}
		for i := 0; i < NumIndices; i += 2 {
			orderPair(&s, i)
		}
		orderQuad(&s, 0)
		orderQuad(&s, 4)
		orderHalves(&s)
		require.True(t, inOrder(&s), "%04x", s)
	}
}

func TestQuadsCompareLastIndexFirst(t *testing.T) {
	// Pair (1,9) weighs more than (2,3): 9<<16|1 > 3<<16|2.
	s := Solution{2, 3, 1, 9, 4, 5, 6, 10}
	require.True(t, inOrder(&s))
	s = Solution{1, 9, 2, 3, 4, 5, 6, 10}
	require.False(t, inOrder(&s))
}
