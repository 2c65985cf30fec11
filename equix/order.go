package equix

// The canonical order makes a solution's tree unique. The eight indices are
// the leaves of a binary tree: pairs (0,1) (2,3) (4,5) (6,7), quads 0-3 and
// 4-7, and the whole. Each node's left subtree must not be greater than its
// right one, where a subtree of 2^k indices is compared as the
// little-endian integer it would be in memory on the wire: its last index
// is the most significant (a pair (a,b) weighs as b<<16|a, so quads compare
// by their second index first, not lexicographically). Equal subtrees are
// in order, as in the reference (tevador/equix src/solver.h, tree_cmp*).

// pairKey is indices i, i+1 as one number.
func pairKey(s *Solution, i int) uint32 {
	return uint32(s[i+1])<<16 | uint32(s[i])
}

// quadKey is indices i..i+3 as one number.
func quadKey(s *Solution, i int) uint64 {
	return uint64(s[i+3])<<48 | uint64(s[i+2])<<32 | uint64(s[i+1])<<16 | uint64(s[i])
}

// inOrder reports whether s is in canonical order.
func inOrder(s *Solution) bool {
	return quadKey(s, 0) <= quadKey(s, 4) &&
		pairKey(s, 0) <= pairKey(s, 2) &&
		pairKey(s, 4) <= pairKey(s, 6) &&
		s[0] <= s[1] && s[2] <= s[3] && s[4] <= s[5] && s[6] <= s[7]
}

// orderPair puts indices i, i+1 in order.
func orderPair(s *Solution, i int) {
	if s[i] > s[i+1] {
		s[i], s[i+1] = s[i+1], s[i]
	}
}

// orderQuad puts the pairs at i and i+2 in order (each already is).
func orderQuad(s *Solution, i int) {
	if pairKey(s, i) > pairKey(s, i+2) {
		s[i], s[i+1], s[i+2], s[i+3] = s[i+2], s[i+3], s[i], s[i+1]
	}
}

// orderHalves puts the quads in order (each already is).
func orderHalves(s *Solution) {
	if quadKey(s, 0) > quadKey(s, 4) {
		var lo [4]uint16
		copy(lo[:], s[0:4])
		copy(s[0:4], s[4:8])
		copy(s[4:8], lo[:])
	}
}
