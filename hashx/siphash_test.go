package hashx

import (
	"encoding/binary"
	"testing"
)

// sipHash24 is standard SipHash-2-4 built on sipRound, to test the round
// against the SipHash paper's vector.
func sipHash24(k0, k1 uint64, msg []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	b := uint64(len(msg)) << 56
	for ; len(msg) >= 8; msg = msg[8:] {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0 ^= m
	}
	for i, c := range msg {
		b |= uint64(c) << (8 * i)
	}
	v3 ^= b
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= b
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

func TestSipRound(t *testing.T) {
	// SipHash paper (Aumasson, Bernstein), Appendix A: key 00..0f, message
	// 00..0e gives a129ca6149be45e5.
	k := seqBytes(16)
	got := sipHash24(binary.LittleEndian.Uint64(k), binary.LittleEndian.Uint64(k[8:]), seqBytes(15))
	if want := uint64(0xa129ca6149be45e5); got != want {
		t.Fatalf("SipHash-2-4 = %#x, want %#x", got, want)
	}
}

// The generator's two buffers draw blocks from one counter, and each hands
// out its parts from the most significant end.
func TestSipRNGOrder(t *testing.T) {
	key := sipState{1, 2, 3, 4}
	var g sipRNG
	g.init(&key)
	b0 := siphash13Ctr(0, &key)
	b1 := siphash13Ctr(1, &key)
	b2 := siphash13Ctr(2, &key)
	if got := g.u8(); got != uint8(b0>>56) {
		t.Fatalf("first u8 = %#x, want %#x", got, uint8(b0>>56))
	}
	if got := g.u32(); got != uint32(b1>>32) {
		t.Fatalf("first u32 = %#x, want %#x", got, uint32(b1>>32))
	}
	if got := g.u32(); got != uint32(b1) {
		t.Fatalf("second u32 = %#x, want %#x", got, uint32(b1))
	}
	if got := g.u8(); got != uint8(b0>>48) {
		t.Fatalf("second u8 = %#x, want %#x", got, uint8(b0>>48))
	}
	if got := g.u32(); got != uint32(b2>>32) {
		t.Fatalf("third u32 = %#x, want %#x", got, uint32(b2>>32))
	}
}
