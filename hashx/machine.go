package hashx

import (
	"runtime"
	"sync"
	"unsafe"
)

// A Machine runs one HashX function at a time, compiled to machine code
// where the platform allows it and interpreted otherwise. Load a function
// into it, then call Hash, Hash64 or Hash64s; Load again to switch to
// another function, which reuses the Machine's code memory. Equi-X's
// Solvers keep one Machine each.
//
// The zero Machine is ready to use. A Machine may be used by several
// goroutines at once for Hash, Hash64 and Hash64s, but not while one of
// them runs Load or Close; it must not be copied after its first Load.
type Machine struct {
	// Interpret, set before Load, makes the Machine interpret the program
	// even where it could compile it (for comparisons, or to avoid
	// executable memory).
	Interpret bool

	h        *HashX
	code     *codeMemory // nil until the first compiled Load, and after Close
	compiled bool        // h's program is in code
	avx2     bool        // expand with AVX2
	mem      memory      // nil: the system's (sysMemory); tests substitute
}

// codeSize is the size of a Machine's code mapping: maxCodeSize rounded up
// to 16 KiB (four pages of 4 KiB).
const codeSize = 16 << 10

// batchSize bounds the hashes of one call into generated code (about 6 µs
// of HashX, the longest a goroutine then cannot be preempted or stopped
// for a garbage collection); Hash64s stages their registers on the stack.
const batchSize = 64

// memory is what a Machine needs of the system: mappings of n bytes made
// read-write, whose protection then switches between writable (read-write)
// and executable (read-execute), never both.
type memory interface {
	alloc(n int) ([]byte, error)
	writable(b []byte) error
	executable(b []byte) error
	free(b []byte) error
}

// codeMemory is a Machine's mapping, in its own heap object so that a
// cleanup can release it when the Machine is dropped without Close.
type codeMemory struct {
	buf     []byte
	mem     memory
	cleanup runtime.Cleanup
}

// mapping is what the cleanup releases.
type mapping struct {
	buf []byte
	mem memory
}

func (mp mapping) release() { _ = mp.mem.free(mp.buf) }

// jitWorks reports, once per process, whether this build compiles and the
// system gives executable memory.
var jitWorks = sync.OnceValue(func() bool { return probe(sysMemory{}) })

// cpuAVX2 reports, once per process (CPUID is slow in virtual machines),
// whether compiled Machines expand inputs with AVX2.
var cpuAVX2 = sync.OnceValue(hasAVX2)

// Compiled reports whether Machines compile programs to machine code on
// this system: the build has a compiler for the platform (linux/amd64 or
// linux/arm64, without the purego tag) and the system grants executable memory (it
// may refuse: SELinux's deny_execmem, systemd's MemoryDenyWriteExecute,
// a seccomp filter). It is found out once, on the first call. Where it is
// false, Machines interpret.
func Compiled() bool { return jitBuilt && jitWorks() }

// Engine names what runs programs on this system by default: "compiled"
// (x86-64 or AArch64 machine code) or "interpreted"; see Compiled.
func Engine() string {
	if Compiled() {
		return "compiled"
	}
	return "interpreted"
}

// probe compiles a HashX function with an empty program into memory from
// mem and runs it, which must give the interpreter's hash.
func probe(mem memory) bool {
	if !jitBuilt {
		return false
	}
	h := &HashX{keys: sipState{1, 2, 3, 4}}
	m := Machine{h: h, mem: mem}
	h.prog.reset()
	if m.compiled = m.compile(h); !m.compiled {
		return false
	}
	defer m.Close()
	return m.Hash(7) == h.Hash(7)
}

// Load makes h the function m computes, compiling its program into m's
// code memory unless m.Interpret is set or Compiled is false. Should the
// system refuse the memory at this point (or the program hold what the
// compiler does not encode, which no seed's program does), m interprets h.
func (m *Machine) Load(h *HashX) {
	m.h = h
	m.compiled = false
	if m.Interpret || !Compiled() {
		return
	}
	m.compiled = m.compile(h)
	m.avx2 = cpuAVX2()
}

// Engine names what runs the loaded program: "compiled" or "interpreted".
func (m *Machine) Engine() string {
	if m.compiled {
		return "compiled"
	}
	return "interpreted"
}

// compile writes h's program to m's mapping (made on first use, and made
// writable for the write only) and reports whether it is there, executable.
func (m *Machine) compile(h *HashX) bool {
	mem := m.mem
	if mem == nil {
		mem = sysMemory{}
	}
	if m.code == nil {
		buf, err := mem.alloc(codeSize)
		if err != nil {
			return false
		}
		c := &codeMemory{buf: buf, mem: mem}
		c.cleanup = runtime.AddCleanup(c, mapping.release, mapping{buf, mem})
		m.code = c
	} else if err := mem.writable(m.code.buf); err != nil {
		m.Close()
		return false
	}
	n := compileTo(h, m.code.buf)
	if err := mem.executable(m.code.buf); err != nil {
		m.Close()
		return false
	}
	return n > 0
}

// call runs the compiled program on n >= 1 register files: regs and the
// n-1 [8]uint64 after it.
//
// The mapping must stay reachable until the code has run: once the
// address is taken, nothing else in the call refers to m, and a garbage
// collection completing at a preemption just before the CALL could
// otherwise run the cleanup that unmaps the code. KeepAlive holds it.
func (m *Machine) call(regs *[8]uint64, n uint64) {
	c := m.code
	callBatch(uintptr(unsafe.Pointer(&c.buf[0])), regs, n) //nolint:gosec // G103: the stub calls the code at this address; KeepAlive below keeps the mapping
	runtime.KeepAlive(c)
}

// expand writes the SipHash expansions of the inputs from start to regs:
// four at a time with AVX2 where the CPU has it, the rest one by one.
func (m *Machine) expand(start uint64, regs [][8]uint64) {
	done := 0
	if m.avx2 && len(regs) >= 4 {
		blocks := len(regs) / 4
		expandAVX2(&m.h.keys, start, blocks, &regs[0])
		done = 4 * blocks
	}
	for i := done; i < len(regs); i++ {
		siphash24CtrState512(&m.h.keys, start+uint64(i), &regs[i])
	}
}

// finish64 finishes the register files regs and writes their Hash64s to
// out: four at a time with AVX2 where the CPU has it, the rest one by one.
func (m *Machine) finish64(regs [][8]uint64, out []uint64) {
	done := 0
	if m.avx2 && len(regs) >= 4 {
		blocks := len(regs) / 4
		finishAVX2(&m.h.keys, &regs[0], blocks, &out[0])
		done = 4 * blocks
	}
	for i := done; i < len(regs); i++ {
		m.h.finish(&regs[i])
		out[i] = regs[i][0] ^ regs[i][4]
	}
}

// run1 is the final register state for input.
func (m *Machine) run1(input uint64) [8]uint64 {
	var r [8]uint64
	siphash24CtrState512(&m.h.keys, input, &r)
	m.call(&r, 1)
	m.h.finish(&r)
	return r
}

// Close releases m's code memory; m interprets until the next Load, which
// maps new memory. It is never necessary (a dropped Machine's memory is
// released after a garbage collection) but frees the memory sooner.
func (m *Machine) Close() error {
	m.compiled = false
	c := m.code
	if c == nil {
		return nil
	}
	m.code = nil
	c.cleanup.Stop()
	return c.mem.free(c.buf)
}

// Hash is the loaded function's Hash.
func (m *Machine) Hash(input uint64) [32]byte {
	if !m.compiled {
		return m.h.Hash(input)
	}
	r := m.run1(input)
	return digest(&r)
}

// Hash64 is the loaded function's Hash64.
func (m *Machine) Hash64(input uint64) uint64 {
	if !m.compiled {
		return m.h.Hash64(input)
	}
	r := m.run1(input)
	return r[0] ^ r[4]
}

// Hash64s sets out[i] to the loaded function's Hash64(start+i) for every
// i (inputs wrap around at 2^64). Compiled, it expands a batch of inputs,
// runs the program on the batch in one call into generated code (64 at a
// time) and finishes the batch; Equi-X's solver hashes all its indices
// this way.
func (m *Machine) Hash64s(start uint64, out []uint64) {
	if !m.compiled {
		for i := range out {
			out[i] = m.h.Hash64(start + uint64(i))
		}
		return
	}
	var regs [batchSize][8]uint64
	for len(out) > 0 {
		n := min(len(out), batchSize)
		m.expand(start, regs[:n])
		m.call(&regs[0], uint64(n))
		m.finish64(regs[:n], out[:n])
		out = out[n:]
		start += uint64(n)
	}
}
