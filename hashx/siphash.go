package hashx

import "math/bits"

// sipState is a SipHash state (v0..v3), used by HashX as a 256-bit key.
type sipState struct {
	v0, v1, v2, v3 uint64
}

// sipRound is one SipRound (SipHash's ARX round), in place.
func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v2 += v3
	v1 = bits.RotateLeft64(v1, 13)
	v3 = bits.RotateLeft64(v3, 16)
	v1 ^= v0
	v3 ^= v2
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v1
	v0 += v3
	v1 = bits.RotateLeft64(v1, 17)
	v3 = bits.RotateLeft64(v3, 21)
	v1 ^= v2
	v3 ^= v0
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

// siphash13Ctr is the reference's hashx_siphash13_ctr: SipHash-1-3 of one
// 64-bit word, keyed by a full state rather than a 128-bit key. It drives
// the program generator's random number stream.
//
//go:norace
func siphash13Ctr(input uint64, k *sipState) uint64 {
	v0, v1, v2, v3 := k.v0, k.v1, k.v2, k.v3^input
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= input
	v2 ^= 0xff
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	return (v0 ^ v1) ^ (v2 ^ v3)
}

// siphash24CtrState512 is the reference's hashx_siphash24_ctr_state512: a
// SipHash-2-4-like expansion of one 64-bit input into the eight registers a
// program starts with.
//
//go:norace
func siphash24CtrState512(k *sipState, input uint64, r *[8]uint64) {
	v0, v1, v2, v3 := k.v0, k.v1^0xee, k.v2, k.v3^input
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= input
	v2 ^= 0xee
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	r[0], r[1], r[2], r[3] = v0, v1, v2, v3
	v1 ^= 0xdd
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	r[4], r[5], r[6], r[7] = v0, v1, v2, v3
}

// sipRNG is the reference's siphash_rng: a counter-mode generator over
// siphash13Ctr, with separate buffers for bytes and 32-bit words. Each
// buffer takes its own fresh 64-bit block from the shared counter when it
// runs dry, and hands out its parts from the most significant end down.
type sipRNG struct {
	key     sipState
	counter uint64
	buf8    uint64
	buf32   uint64
	count8  uint
	count32 uint
}

func (g *sipRNG) init(key *sipState) {
	*g = sipRNG{key: *key}
}

// u8 and u32 are small enough to inline; the refills are not.
//
//go:norace
func (g *sipRNG) u8() uint8 {
	if g.count8 == 0 {
		g.refill8()
	}
	g.count8--
	return uint8(g.buf8 >> (g.count8 * 8))
}

//go:norace
func (g *sipRNG) u32() uint32 {
	if g.count32 == 0 {
		g.refill32()
	}
	g.count32--
	return uint32(g.buf32 >> (g.count32 * 32))
}

//go:norace
//go:noinline
func (g *sipRNG) refill8() {
	g.buf8 = siphash13Ctr(g.counter, &g.key)
	g.counter++
	g.count8 = 8
}

//go:norace
//go:noinline
func (g *sipRNG) refill32() {
	g.buf32 = siphash13Ctr(g.counter, &g.key)
	g.counter++
	g.count32 = 2
}
