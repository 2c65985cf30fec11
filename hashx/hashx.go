package hashx

import (
	"encoding/binary"
	"errors"
)

// ErrProgram is returned by New for a seed whose generated program fails
// the reference generator's constraints (512 instructions, 192
// multiplications, a 195-cycle critical path); the reference's hashx_make
// fails for the same seeds (Tor: HASHX_FAIL_SEED). Roughly 1 seed in
// 27,000 (11 of the 4-byte seeds 0..299,999).
var ErrProgram = errors.New("hashx: seed gives a program that fails the generator's constraints")

// HashX is one hash function of the family, made from a seed by New. It is
// read-only once made, so one *HashX may be used by any number of
// goroutines at once.
type HashX struct {
	keys sipState // the second half of the seed's BLAKE2b: the register key
	prog program
}

// hashxSalt is the reference's default HASHX_SALT ("HashX v1"); neither
// tevador's nor Tor's build overrides it.
var hashxSalt = [16]byte{'H', 'a', 's', 'h', 'X', ' ', 'v', '1'}

// New makes the hash function for seed (any length, empty included), or
// returns ErrProgram when the seed's program fails the constraints.
//
// Its cost is one BLAKE2b-512 of the seed (salted), the program generator
// (about 600 SipHash-1-3 blocks and a simulated schedule for 512
// instructions) and one allocation of about 16 KiB (the decoded program).
func New(seed []byte) (*HashX, error) {
	var s blake2bState
	s.init(&blake2bParams{size: 64, salt: hashxSalt})
	s.write(seed)
	var out [blake2bMaxSize]byte
	s.sum(&out)
	k0 := sipState{
		binary.LittleEndian.Uint64(out[0:]), binary.LittleEndian.Uint64(out[8:]),
		binary.LittleEndian.Uint64(out[16:]), binary.LittleEndian.Uint64(out[24:]),
	}
	h := new(HashX)
	h.keys = sipState{
		binary.LittleEndian.Uint64(out[32:]), binary.LittleEndian.Uint64(out[40:]),
		binary.LittleEndian.Uint64(out[48:]), binary.LittleEndian.Uint64(out[56:]),
	}
	if !generate(&k0, &h.prog) {
		return nil, ErrProgram
	}
	return h, nil
}

// run computes the final register state for input: the SipHash expansion
// of input, the program, the key addition and one SipRound per half.
//
//go:norace
func (h *HashX) run(input uint64, r *[8]uint64) {
	siphash24CtrState512(&h.keys, input, r)
	h.prog.execute(r)
	h.finish(r)
}

// finish is the finalisation after the program, removing the bias toward 0
// of the multiplications: the key added back, one SipRound per half.
//
//go:norace
func (h *HashX) finish(r *[8]uint64) {
	r[0] += h.keys.v0
	r[1] += h.keys.v1
	r[6] += h.keys.v2
	r[7] += h.keys.v3
	r[0], r[1], r[2], r[3] = sipRound(r[0], r[1], r[2], r[3])
	r[4], r[5], r[6], r[7] = sipRound(r[4], r[5], r[6], r[7])
}

// Hash returns the 32-byte hash of input: the reference's hashx_exec built
// with HASHX_SIZE 32.
func (h *HashX) Hash(input uint64) [32]byte {
	var r [8]uint64
	h.run(input, &r)
	return digest(&r)
}

// digest is the 32-byte output of a final register state.
func digest(r *[8]uint64) [32]byte {
	w := [4]uint64{r[0] ^ r[4], r[1] ^ r[5], r[2] ^ r[6], r[3] ^ r[7]}
	return outputBytes(&w)
}

// outputBytes is the 32-byte output of its four words, little-endian.
func outputBytes(w *[4]uint64) [32]byte {
	var out [32]byte
	binary.LittleEndian.PutUint64(out[0:], w[0])
	binary.LittleEndian.PutUint64(out[8:], w[1])
	binary.LittleEndian.PutUint64(out[16:], w[2])
	binary.LittleEndian.PutUint64(out[24:], w[3])
	return out
}

// Hash64 returns the first 8 bytes of Hash(input) as a little-endian
// uint64: what Equi-X uses (it builds HashX with HASHX_SIZE 8 and reads the
// output with load64).
func (h *HashX) Hash64(input uint64) uint64 {
	var r [8]uint64
	h.run(input, &r)
	return r[0] ^ r[4]
}
