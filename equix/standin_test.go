package equix

// standIn is a stand-in for HashX in tests: a fixed 64-bit mixer over
// seed<<16|index, with optional biases that crowd chosen buckets so that
// the solver's drop rules are exercised.
type standIn struct {
	seed uint64
	bias int
}

// The biases standIn can apply.
const (
	biasNone   = iota
	biasCoarse // one value in 8 lands in stage-1 buckets 0..3
	biasFine   // one value in 4 lands in 4 of the 128 fine buckets
	biasTwins  // indices 2k and 2k+1 share a value
	biasStage2 // one value in 4 has bits 15..20 clear: crowded stage-2 buckets
	biasStage3 // one value in 4 has bits 30..35 clear: crowded stage-3 buckets
	biasAll    // all of the above but twins
	numBiases
)

func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (h standIn) Hash64(i uint64) uint64 {
	if h.bias == biasTwins {
		i >>= 1
	}
	v := mix64(h.seed<<16 | i)
	all := h.bias == biasAll
	if (all || h.bias == biasCoarse) && (v>>40)&7 == 0 {
		v = v&^0xff | (v>>50)&3
	}
	if (all || h.bias == biasFine) && (v>>43)&3 == 0 {
		v &^= 0x1f00
	}
	if (all || h.bias == biasStage2) && (v>>45)&3 == 0 {
		v &^= 0x3f << 15
	}
	if (all || h.bias == biasStage3) && (v>>47)&3 == 0 {
		v &^= 0x3f << 30
	}
	return v
}
