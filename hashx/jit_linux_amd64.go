//go:build !purego

package hashx

import "syscall"

// jitBuilt: this build has a code generator and an entry stub.
const jitBuilt = true

// compileTo writes the machine code of h's program to buf; see
// compileAMD64.
func compileTo(h *HashX, buf []byte) int { return compileAMD64(&h.prog, buf) }

// callBatch runs the compiled program at code on n >= 1 register files:
// regs and the n-1 [8]uint64 after it (jit_linux_amd64.s).
//
//go:noescape
func callBatch(code uintptr, regs *[8]uint64, n uint64)

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
