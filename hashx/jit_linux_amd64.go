//go:build !purego

package hashx

import "syscall"

// jitBuilt: this build has a code generator and an entry stub.
const jitBuilt = true

// compileTo writes p's machine code to buf; see compileAMD64.
func compileTo(p *program, buf []byte) int { return compileAMD64(p, buf) }

// callJIT runs the compiled program at code on r (jit_linux_amd64.s).
//
//go:noescape
func callJIT(code uintptr, r *[8]uint64)

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
