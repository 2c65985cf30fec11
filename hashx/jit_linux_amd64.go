//go:build !purego

package hashx

import "syscall"

// jitBuilt: this build has a code generator and an entry stub.
const jitBuilt = true

// compileTo writes h's machine code to buf; see compileAMD64.
func compileTo(h *HashX, buf []byte) int { return compileAMD64(&h.keys, &h.prog, buf) }

// callBatch runs the compiled function at code: for i < n (at least 1),
// the i-th [4]uint64 from out gets the output words of the input whose
// SipHash expansion is the i-th [8]uint64 from regs (jit_linux_amd64.s).
//
//go:noescape
func callBatch(code uintptr, out *[4]uint64, regs *[8]uint64, n uint64)

// sysMemory is executable memory from the kernel: anonymous private
// mappings whose protection flips between read-write and read-execute.
type sysMemory struct{}

func (sysMemory) alloc(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

func (sysMemory) writable(b []byte) error {
	return syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_WRITE)
}

func (sysMemory) executable(b []byte) error {
	return syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_EXEC)
}

func (sysMemory) free(b []byte) error { return syscall.Munmap(b) }
