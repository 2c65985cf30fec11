package hashx

import (
	"encoding/binary"
	"math/bits"
)

// A small BLAKE2b (RFC 7693) that takes the full parameter block: HashX
// derives its keys with a 16-byte salt ("HashX v1"), which
// golang.org/x/crypto/blake2b cannot express. Unkeyed, sequential mode only
// (fanout 1, depth 1), which is all HashX needs.

const (
	blake2bBlockSize = 128
	blake2bMaxSize   = 64
)

var blake2bIV = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

// blake2bSigma is the message schedule; rounds 10 and 11 reuse rows 0 and 1.
var blake2bSigma = [12][16]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
}

// blake2bParams is the part of the 64-byte parameter block this package
// sets; everything else (key length, leaf length, node offset, node depth,
// inner length, reserved) is zero, and fanout and depth are 1.
type blake2bParams struct {
	size     int      // digest length, 1..64
	salt     [16]byte // bytes 32..47 of the block
	personal [16]byte // bytes 48..63 of the block
}

// blake2bState is a running hash. The zero value is not usable; see init.
type blake2bState struct {
	h      [8]uint64
	t      uint64 // bytes compressed so far (the high word stays 0 here)
	buf    [blake2bBlockSize]byte
	buflen int
	size   int
}

func (s *blake2bState) init(p *blake2bParams) {
	var block [64]byte
	block[0] = byte(p.size)
	block[1] = 0 // key length
	block[2] = 1 // fanout
	block[3] = 1 // depth
	copy(block[32:48], p.salt[:])
	copy(block[48:64], p.personal[:])
	for i := range s.h {
		s.h[i] = blake2bIV[i] ^ binary.LittleEndian.Uint64(block[8*i:])
	}
	s.t = 0
	s.buflen = 0
	s.size = p.size
}

// write absorbs p. The last block is kept back until sum, since it must be
// compressed with the final flag.
func (s *blake2bState) write(p []byte) {
	for len(p) > 0 {
		if s.buflen == blake2bBlockSize {
			s.t += blake2bBlockSize
			blake2bCompress(&s.h, s.buf[:], s.t, false)
			s.buflen = 0
		}
		n := copy(s.buf[s.buflen:], p)
		s.buflen += n
		p = p[n:]
	}
}

// sum finishes the hash into out[:size] and returns the number of bytes
// written. The state must not be written to afterwards.
func (s *blake2bState) sum(out *[blake2bMaxSize]byte) int {
	s.t += uint64(s.buflen)
	clear(s.buf[s.buflen:])
	blake2bCompress(&s.h, s.buf[:], s.t, true)
	for i, v := range s.h {
		binary.LittleEndian.PutUint64(out[8*i:], v)
	}
	return s.size
}

// blake2bCompress is RFC 7693's F with the counter's high word 0 (inputs
// here are far shorter than 2^64 bytes).
func blake2bCompress(h *[8]uint64, block []byte, t uint64, last bool) {
	var m [16]uint64
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(block[8*i:])
	}
	v0, v1, v2, v3, v4, v5, v6, v7 := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
	v8, v9, v10, v11 := blake2bIV[0], blake2bIV[1], blake2bIV[2], blake2bIV[3]
	v12, v13, v14, v15 := blake2bIV[4]^t, blake2bIV[5], blake2bIV[6], blake2bIV[7]
	if last {
		v14 = ^v14
	}
	g := func(a, b, c, d, x, y uint64) (uint64, uint64, uint64, uint64) {
		a = a + b + x
		d = bits.RotateLeft64(d^a, -32)
		c = c + d
		b = bits.RotateLeft64(b^c, -24)
		a = a + b + y
		d = bits.RotateLeft64(d^a, -16)
		c = c + d
		b = bits.RotateLeft64(b^c, -63)
		return a, b, c, d
	}
	for r := range blake2bSigma {
		s := &blake2bSigma[r]
		v0, v4, v8, v12 = g(v0, v4, v8, v12, m[s[0]], m[s[1]])
		v1, v5, v9, v13 = g(v1, v5, v9, v13, m[s[2]], m[s[3]])
		v2, v6, v10, v14 = g(v2, v6, v10, v14, m[s[4]], m[s[5]])
		v3, v7, v11, v15 = g(v3, v7, v11, v15, m[s[6]], m[s[7]])
		v0, v5, v10, v15 = g(v0, v5, v10, v15, m[s[8]], m[s[9]])
		v1, v6, v11, v12 = g(v1, v6, v11, v12, m[s[10]], m[s[11]])
		v2, v7, v8, v13 = g(v2, v7, v8, v13, m[s[12]], m[s[13]])
		v3, v4, v9, v14 = g(v3, v4, v9, v14, m[s[14]], m[s[15]])
	}
	h[0] ^= v0 ^ v8
	h[1] ^= v1 ^ v9
	h[2] ^= v2 ^ v10
	h[3] ^= v3 ^ v11
	h[4] ^= v4 ^ v12
	h[5] ^= v5 ^ v13
	h[6] ^= v6 ^ v14
	h[7] ^= v7 ^ v15
}
