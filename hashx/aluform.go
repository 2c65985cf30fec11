package hashx

import "math/bits"

// aluForm is the HashX instruction an interpreter ALU form (see instr)
// came from, as the compilers emit it.
type aluForm int

const (
	formNone  aluForm = iota // not one the compilers know: left to the interpreter
	formRotR                 // ROR_C: rotate right by rot
	formAddC                 // ADD_C: add the sign-extended 32-bit constant
	formXorC                 // XOR_C: xor the sign-extended 32-bit constant
	formSubR                 // SUB_R
	formXorR                 // XOR_R
	formAddRS                // ADD_RS: add the source shifted left by shift
)

// aluFormOf recognises in's form, with its rotation (ROR_C) or shift
// (ADD_RS); both compilers share it, so they agree on what they compile.
func aluFormOf(in instr) (form aluForm, rot, shift uint64) {
	rot = in.ctl >> 24 & 63
	simm := uint64(int64(int32(in.c))) == in.c
	switch {
	case in.k == 0 && in.c == 0:
		return formRotR, rot, 0
	case rot != 0:
		return formNone, 0, 0
	case in.k == 0 && simm && in.xor == 0:
		return formAddC, 0, 0
	case in.k == 0 && simm && in.xor == ^uint64(0):
		return formXorC, 0, 0
	case in.c != 0:
		return formNone, 0, 0
	case in.k == ^uint64(0) && in.xor == 0:
		return formSubR, 0, 0
	case in.k == 1 && in.xor == ^uint64(0):
		return formXorR, 0, 0
	case (in.k == 1 || in.k == 2 || in.k == 4 || in.k == 8) && in.xor == 0:
		return formAddRS, 0, uint64(bits.TrailingZeros64(in.k))
	}
	return formNone, 0, 0
}
