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

// TestFinishAVX2: the vector finalisation is HashX.finish and Hash64's
// r0^r4, file by file.
func TestFinishAVX2(t *testing.T) {
	if !hasAVX2() {
		t.Skip("no AVX2")
	}
	h := &HashX{keys: sipState{0x0123456789abcdef, 0xfedcba9876543210, 0x0f1e2d3c4b5a6978, 0x8796a5b4c3d2e1f0}}
	var regs [8][8]uint64
	for i := range regs {
		for j := range regs[i] {
			regs[i][j] = uint64(i*8+j+1) * 0x9e3779b97f4a7c15
		}
	}
	var got [8]uint64
	finishAVX2(&h.keys, &regs[0], 2, &got[0])
	for i, r := range regs {
		h.finish(&r)
		if want := r[0] ^ r[4]; got[i] != want {
			t.Errorf("file %d: %#x, want %#x", i, got[i], want)
		}
	}
}
