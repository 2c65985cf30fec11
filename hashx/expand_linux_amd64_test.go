//go:build !purego

package hashx

import "testing"

// TestExpandAVX2: the vector expansion is siphash24CtrState512, lane by
// lane, across block boundaries and the wrap at 2^64.
func TestExpandAVX2(t *testing.T) {
	if !hasAVX2() {
		t.Skip("no AVX2")
	}
	k := sipState{0x0123456789abcdef, 0xfedcba9876543210, 0x0f1e2d3c4b5a6978, 0x8796a5b4c3d2e1f0}
	for _, start := range []uint64{0, 1000, ^uint64(0) - 5} {
		var got [12][8]uint64
		expandAVX2(&k, start, 3, &got[0])
		for i := range got {
			var want [8]uint64
			siphash24CtrState512(&k, start+uint64(i), &want)
			if got[i] != want {
				t.Fatalf("start %d lane %d: %x, want %x", start, i, got[i], want)
			}
		}
	}
}
