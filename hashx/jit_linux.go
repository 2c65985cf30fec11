//go:build linux && (amd64 || arm64) && !purego

package hashx

import "syscall"

// sysMemory is executable memory from the kernel: anonymous private
// mappings whose protection flips between read-write and read-execute.
type sysMemory struct{}

func (sysMemory) alloc(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

func (sysMemory) writable(b []byte) error {
	return syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_WRITE)
}

// executable makes b read-execute and brings the instruction caches up to
// date with what was written (syncCode).
func (sysMemory) executable(b []byte) error {
	if err := syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_EXEC); err != nil {
		return err
	}
	syncCode(b)
	return nil
}

func (sysMemory) free(b []byte) error { return syscall.Munmap(b) }
