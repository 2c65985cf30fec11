//go:build !linux || !amd64 || purego

package hashx

// Without the AVX2 assembly (expand_linux_amd64.s), compiled Machines
// expand and finish one input at a time.

func expandAVX2(*sipState, uint64, int, *[8]uint64) { panic("hashx: no AVX2 code in this build") }

func finishAVX2(*sipState, *[8]uint64, int, *uint64) { panic("hashx: no AVX2 code in this build") }

func hasAVX2() bool { return false }
