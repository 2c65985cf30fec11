package hashx

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzNew: any seed either gives ErrProgram or a HashX whose Hash is
// deterministic (also across a second New of the same seed) and whose
// Hash64 is the first 8 bytes of Hash, little-endian.
func FuzzNew(f *testing.F) {
	for _, v := range originalVectors {
		f.Add([]byte(v.seed), uint64(0))
	}
	for _, s := range rejectedSeeds {
		f.Add([]byte(s), uint64(1))
	}
	f.Add([]byte{}, ^uint64(0))
	f.Add(seqBytes(300), uint64(123456))
	f.Fuzz(func(t *testing.T, seed []byte, input uint64) {
		h, err := New(seed)
		if err != nil {
			if !errors.Is(err, ErrProgram) || h != nil {
				t.Fatalf("New(%x) = %v, %v", seed, h, err)
			}
			return
		}
		a := h.Hash(input)
		if b := h.Hash(input); a != b {
			t.Fatalf("Hash(%d) not deterministic: %x, %x", input, a, b)
		}
		if got, want := h.Hash64(input), binary.LittleEndian.Uint64(a[:]); got != want {
			t.Fatalf("Hash64(%d) = %#x, want %#x", input, got, want)
		}
		h2, err := New(seed)
		if err != nil {
			t.Fatalf("second New(%x): %v", seed, err)
		}
		if b := h2.Hash(input); a != b {
			t.Fatalf("second New: Hash(%d) = %x, want %x", input, b, a)
		}
	})
}

// FuzzCompiled: for any seed New accepts and any input, the compiled
// function (where this system compiles) computes the interpreter's Hash,
// Hash64 and Hash64s.
func FuzzCompiled(f *testing.F) {
	for _, v := range originalVectors {
		f.Add([]byte(v.seed), uint64(0))
	}
	f.Add([]byte{}, ^uint64(0))
	f.Add(seqBytes(300), uint64(123456))
	f.Fuzz(func(t *testing.T, seed []byte, input uint64) {
		h, err := New(seed)
		if err != nil {
			return
		}
		var m Machine
		defer m.Close()
		m.Load(h)
		if got, want := m.Hash(input), h.Hash(input); got != want {
			t.Fatalf("%s Hash(%d) = %x, interpreted %x", m.Engine(), input, got, want)
		}
		if got, want := m.Hash64(input), h.Hash64(input); got != want {
			t.Fatalf("%s Hash64(%d) = %#x, interpreted %#x", m.Engine(), input, got, want)
		}
		var out [3]uint64
		m.Hash64s(input, out[:])
		for i, got := range out {
			if want := h.Hash64(input + uint64(i)); got != want {
				t.Fatalf("%s Hash64s(%d)[%d] = %#x, interpreted %#x", m.Engine(), input, i, got, want)
			}
		}
	})
}
