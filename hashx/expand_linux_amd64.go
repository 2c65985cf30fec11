//go:build !purego

package hashx

// expandAVX2 is siphash24CtrState512 of the 4*blocks inputs from start,
// four at a time in AVX2 lanes, into out[0], out[1], ... (expand_amd64.s).
//
//go:noescape
func expandAVX2(k *sipState, start uint64, blocks int, out *[8]uint64)

// finishAVX2 is HashX.finish of the 4*blocks register files from regs,
// four at a time in AVX2 lanes, writing each Hash64 (r0^r4) to out[0],
// out[1], ... (expand_linux_amd64.s).
//
//go:noescape
func finishAVX2(k *sipState, regs *[8]uint64, blocks int, out *uint64)

// hasAVX2 reports whether the CPU and the OS support AVX2 (expand_amd64.s).
func hasAVX2() bool
