//go:build !purego

package hashx

// jitBuilt: this build has a code generator and an entry stub.
const jitBuilt = true

// syncCode is nothing on x86-64, whose instruction fetch sees the stores
// to the code.
func syncCode([]byte) {}

// compileTo writes the machine code of h's program to buf; see
// compileAMD64.
func compileTo(h *HashX, buf []byte) int { return compileAMD64(&h.prog, buf) }

// callBatch runs the compiled program at code on n >= 1 register files:
// regs and the n-1 [8]uint64 after it (jit_linux_amd64.s).
//
//go:noescape
func callBatch(code uintptr, regs *[8]uint64, n uint64)
