//go:build !purego

package hashx

import "unsafe"

// jitBuilt: this build has a code generator and an entry stub.
const jitBuilt = true

// compileTo writes the machine code of h's program to buf; see
// compileARM64.
func compileTo(h *HashX, buf []byte) int { return compileARM64(&h.prog, buf) }

// callBatch runs the compiled program at code on n >= 1 register files:
// regs and the n-1 [8]uint64 after it (jit_linux_arm64.s).
//
//go:noescape
func callBatch(code uintptr, regs *[8]uint64, n uint64)

// syncCode makes the instruction caches see what was written to b: the
// data cache cleaned and the instruction cache invalidated, line by line,
// to the point of unification (jit_linux_arm64.s).
func syncCode(b []byte) {
	if len(b) > 0 {
		syncRange(uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&b[0]))+uintptr(len(b))) //nolint:gosec // G103: the range of freshly written code whose caches are made coherent
	}
}

//go:noescape
func syncRange(start, end uintptr)
