// Package equix is Equi-X, tevador's asymmetric client puzzle: costly to
// solve, cheap to check, with 16-byte solutions. It is bit for bit the
// puzzle Tor's onion services use for their proof of work (Tor's
// src/ext/equix, which is tevador/equix with new result codes), and it
// passes the vectors of Tor's test_crypto_equix.
//
// # The definition
//
// A challenge (any bytes) seeds a HashX function H (package hashx) from
// 16-bit indices to 64-bit values. A solution is eight indices
// i0..i7 such that
//
//	H(i0) + H(i1) + ... + H(i7) ≡ 0 (mod 2^60)
//
// and, to prove the solution was found with Wagner's algorithm (Equihash
// with n=60, k=3, modular addition for XOR), every pair H(i2j)+H(i2j+1)
// has 15 trailing zero bits (mask 2^15-1) and both quads
// H(i0)+..+H(i3) and H(i4)+..+H(i7) have 30 (mask 2^30-1). The indices
// must also be in canonical tree order: in each pair, each two pairs and
// the two halves, the left part is not greater than the right one, each
// part read as the little-endian integer its wire bytes form (so the last
// index of a part weighs most). Verify checks the order first, then makes
// the HashX program (a challenge whose program fails the generator's
// constraints is ErrChallenge), then the sums: a failed pair or quad is
// ErrPartialSum, a failed total ErrFinalSum.
//
// # The solver
//
// Solve finds, for one challenge, the solutions the reference solver
// finds (about two on average, at most MaxSolutions), in its order: it
// hashes all 65,536 indices and pairs them in three rounds through
// bucketed tables of the reference's sizes, dropping what overflows them
// as the reference does, so the solution set is the reference's and not a
// superset. A Solver holds that memory, 1,897,088 bytes (1.81 MiB), and
// reuses it across calls; use one per goroutine. SolveContext runs Solvers
// on several cores until a caller-chosen solution turns up.
//
// # Cost
//
// Measured on this project's 2-core machine, one goroutine, medians (and
// ranges) of 5 benchmark runs, beside tevador's C reference built with -O3
// and run on the same machine just after (its equix-bench, 5 runs):
//
//	                      this package            C, interpreted HashX    C, compiled HashX
//	solve, per challenge  94.8 ms (90.9-114.8)    258.8 ms (250.8-263.4)  8.2 ms (7.7-8.7)
//	verify                37.6 µs (36.4-37.8)     62.7 µs                 41.0 µs
//
// (The verify row is from a later run, after the generator's rewrite:
// before it, in that same run, this package took 62.1 µs (57.0-70.8); the
// C figures are one equix-bench run each, just after.)
//
// Those Go figures are with HashX interpreted (Solver.Interpret now). A
// Solver compiles HashX to machine code where package hashx can
// (linux/amd64 and linux/arm64) and then, on amd64, solves a little faster
// than the C code with compiled HashX: 7.95 ms per challenge against its
// 8.67 ms, CPU time, medians of 9 interleaved runs (BENCHMARKS.md, "HashX
// compiled"). Verify keeps interpreting: compiling for 8 hashes measured
// slower (52.4 µs against 42.9).
//
// An interpreted solve is one HashX program and 65,536 evaluations (86.9
// ms of the 94.8) plus 2.0 ms of table work; a solve allocates only what
// hashx.New does.
// A verify is one HashX program and 8 evaluations; an out-of-order
// solution is refused in 5 ns without hashing. Solutions average about 2
// per challenge (1,951 over nonces 0..999).
//
// The solver's rounds, like HashX's inner loops, are hidden from the race
// detector (//go:norace; see package hashx for why): they work on one
// Solver's tables, and a Solver belongs to one goroutine at a time.
package equix
