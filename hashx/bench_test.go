package hashx

import (
	"encoding/binary"
	"testing"
)

// benchSeeds are seeds New accepts, cycled through so that BenchmarkNew
// measures the generator over varied programs rather than one.
var benchSeeds = func() [][]byte {
	var seeds [][]byte
	for i := uint32(0); len(seeds) < 64; i++ {
		s := binary.LittleEndian.AppendUint32(nil, i)
		if _, err := New(s); err == nil {
			seeds = append(seeds, s)
		}
	}
	return seeds
}()

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := New(benchSeeds[i%len(benchSeeds)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

var sink uint64

func BenchmarkHash64(b *testing.B) {
	h, err := New([]byte("This is a test\x00"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var acc uint64
	var in uint64
	for b.Loop() {
		acc += h.Hash64(in)
		in++
	}
	sink = acc
}

func BenchmarkHash(b *testing.B) {
	h, err := New([]byte("This is a test\x00"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var acc byte
	var in uint64
	for b.Loop() {
		out := h.Hash(in)
		acc += out[0]
		in++
	}
	sink = uint64(acc)
}

// BenchmarkVerify is Equi-X's verification cost: New plus eight hashes.
func BenchmarkVerify(b *testing.B) {
	b.ReportAllocs()
	i := 0
	var acc uint64
	for b.Loop() {
		h, err := New(benchSeeds[i%len(benchSeeds)])
		if err != nil {
			b.Fatal(err)
		}
		for j := range uint64(8) {
			acc += h.Hash64(j * 7919)
		}
		i++
	}
	sink = acc
}

// BenchmarkMachineHash64 is Hash64 through a Machine: compiled (where this
// system compiles) and interpreted.
func BenchmarkMachineHash64(b *testing.B) {
	for _, c := range []struct {
		name      string
		interpret bool
	}{{"compiled", false}, {"interpreted", true}} {
		b.Run(c.name, func(b *testing.B) {
			h, err := New([]byte("This is a test\x00"))
			if err != nil {
				b.Fatal(err)
			}
			m := Machine{Interpret: c.interpret}
			defer m.Close()
			m.Load(h)
			b.ReportAllocs()
			var acc uint64
			var in uint64
			for b.Loop() {
				acc += m.Hash64(in)
				in++
			}
			sink = acc
		})
	}
}

// BenchmarkLoad is compiling a program into a Machine's existing mapping
// (two mprotect calls and the emitter).
func BenchmarkLoad(b *testing.B) {
	hs := make([]*HashX, len(benchSeeds))
	for i, s := range benchSeeds {
		hs[i], _ = New(s)
	}
	var m Machine
	defer m.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Load(hs[i%len(hs)])
		i++
	}
}

// BenchmarkMachineHash64s is Hash64s in Equi-X's runs of 256, per hash.
func BenchmarkMachineHash64s(b *testing.B) {
	h, err := New([]byte("This is a test\x00"))
	if err != nil {
		b.Fatal(err)
	}
	var m Machine
	defer m.Close()
	m.Load(h)
	var out [256]uint64
	var in uint64
	b.ReportAllocs()
	for b.Loop() {
		m.Hash64s(in, out[:])
		in += uint64(len(out))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(out)), "ns/hash")
}
