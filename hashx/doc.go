// Package hashx is HashX, tevador's family of program-generating hash
// functions, in pure Go, interpreted or compiled to machine code.
//
// HashX was designed by tevador for Tor's client puzzle, Equi-X, as a
// light relative of RandomX's SuperscalarHash: a seed of any length is
// hashed (BLAKE2b-512, salted "HashX v1") into two 256-bit keys; the first
// keys a SipHash-1-3 counter-mode stream that drives a generator, which
// simulates a three-port superscalar CPU to emit a random program of 512
// instructions (multiplications, high multiplications, additions, xors,
// rotations and one data-dependent branch) over eight 64-bit registers. A
// hash of a 64-bit input runs that program on registers initialised from
// the input by a SipHash-2-4-based expansion under the second key, then
// adds the key back and finishes with one SipRound per half. A few seeds
// in 27,000 give programs that miss the generator's fixed targets (512
// instructions, 192 multiplications, a critical path of 195 cycles); New
// refuses them with ErrProgram, as the reference's hashx_make does.
//
// The output matches, bit for bit, tevador's reference
// (github.com/tevador/hashx, built with HASHX_SIZE 32: Hash) and the fork
// of it that Tor ships in src/ext/equix/hashx, which Tor builds with
// HASHX_SIZE 8 for Equi-X (Hash64 is that 8-byte output read as a
// little-endian uint64). The two C versions generate the same programs and
// hashes; the tests carry the original unit-test vectors, Arti's, and
// outputs of both C builds for thousands of seeds.
//
// Costs: New is one BLAKE2b compression, about 600 SipHash-1-3 blocks and
// the generator's scheduling simulation, plus one allocation of about
// 16 KiB (the decoded program); see BenchmarkNew (tens of microseconds).
// Hash and Hash64 interpret the program (about 480 decoded instructions)
// without allocating. A *HashX is read-only after New and safe for
// concurrent use by any number of goroutines.
//
// # Compiled HashX
//
// A Machine runs a HashX compiled to machine code: Load emits code for
// the program (x86-64 with HashX's registers in R8-R15, or AArch64 with
// them in X8-X15, in a loop over a run of register files) and Hash,
// Hash64 and Hash64s call it through a small assembly stub, in pure Go (no
// cgo). The SipHash stages before and after the program (the expansion of
// the inputs, the finalisation) run outside the generated loop, on amd64
// four inputs at a time in AVX2 lanes where the CPU has it (hand-written
// assembly), so that their latency stays off the program's.
//
// Hashing is then about 20 times faster than interpreting (Hash64s about
// 80 ns a hash on this project's machine, Hash64 interpreted 1.5-2 µs);
// loading costs about 15 µs (two mprotect calls and the emitter,
// BenchmarkLoad), so it pays from a dozen hashes: Equi-X's solver
// compiles, its verifier (New and 8 hashes) interprets.
//
// The code lives in a 16 KiB anonymous mapping of the Machine's, which is
// never writable and executable at once (W^X): mapped read-write, written,
// switched to read-execute, and switched back to read-write only for the
// next Load to rewrite it. Close unmaps it; a Machine dropped without
// Close has it unmapped after a garbage collection (runtime.AddCleanup).
// Hashing allocates nothing. Generated code cannot be preempted, so one
// call covers at most 64 hashes (a few microseconds) and a garbage
// collection's stop-the-world never waits long on it.
//
// The compiler exists for linux/amd64 and linux/arm64 (whose code is
// made visible to instruction fetch by cleaning and invalidating the
// caches over the mapping after each write; its SipHash stages are
// scalar Go; tested under qemu-user). Elsewhere, with the purego build
// tag, with Machine.Interpret set, or where the system refuses executable
// memory (SELinux's deny_execmem, systemd's MemoryDenyWriteExecute, a
// seccomp filter: found out once, on first use, by compiling and running
// a probe), a Machine interprets, with the same results. Compiled and
// Engine tell which runs; the tests check compiled against interpreted on
// 100,000 programs and fuzz them (FuzzCompiled).
//
// The race detector skips the generator, the interpreter and the SipHash
// stages (//go:norace): they touch only the caller's registers, the
// generator's own state and, read-only, the finished program. Instrumented,
// they made hashx.New and an Equi-X solve about 12 times slower (a solve
// 1.47 s against 0.12 s), so that under go test -race the programs'
// Equi-X sessions outlasted their windows; what concurrency there is
// (HashX values shared between goroutines, equix's solver pools) is in
// code the detector still sees, and its tests run under -race. The
// generated code is not instrumented either; its only memory writes are
// to the caller's output words.
package hashx
