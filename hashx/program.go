package hashx

import "math/bits"

// The interpreter's form of a program. The generator's instructions are
// decoded into four kinds: the six cheap register/constant operations share
// one branch-free formula (so that executing them costs no mispredicted
// dispatch), multiplication and the two high multiplications have their
// own, and TARGET, a no-op for execution, is dropped; a BRANCH carries the
// index to resume at instead.
const (
	kindALU uint64 = iota
	kindMul
	kindUMulH
	kindSMulH
	kindBranch
)

// instr is one decoded instruction: four machine words, so that the
// compiler keeps a copy of it in registers. ctl holds the kind (byte 0),
// dst (byte 1), src (byte 2) and, for kindALU, a right-rotation count
// (byte 3). kindALU computes
//
//	x = r[dst] rotated right by rot
//	y = r[src]*k + c
//	r[dst] = x + y - ((x&y)<<1 & xor)
//
// that is x + y, or x ^ y when xor is all ones (x^y = x+y-2(x&y)), which
// covers ROR (k = c = 0), ADD_C and XOR_C (k = 0, c the sign-extended
// constant), SUB_R (k = -1), XOR_R (k = 1) and ADD_RS (k = 1<<shift).
// For kindBranch, c is the mask and k the index to resume at.
type instr struct {
	ctl uint64
	k   uint64
	c   uint64
	xor uint64
}

// program is a decoded program.
type program struct {
	code   [programSize]instr
	n      int // instructions in code (the generator's 512 less the TARGETs)
	resume int // where a branch resumes: just after the latest TARGET
}

func (p *program) reset() {
	p.n = 0
	// The reference's interpreter starts with target 0 and resumes at
	// target+1; instruction 0 is always a multiplication, never a TARGET.
	p.resume = 1
}

func ctl(kind uint64, dst, src int, rot uint32) uint64 {
	return kind | uint64(dst&7)<<8 | uint64(src&7)<<16 | uint64(rot&63)<<24
}

// smulh is the high half of the signed 128-bit product.
func smulh(a, b uint64) uint64 {
	hi, _ := bits.Mul64(a, b)
	return hi - (uint64(int64(a)>>63) & b) - (uint64(int64(b)>>63) & a)
}

// execute runs p on r, as the reference's hashx_program_execute: the
// branch tests the low 32 bits of the latest high multiplication against
// its mask and, at most once per run, jumps back to just after the
// preceding TARGET.
//
//go:norace
func (p *program) execute(r *[8]uint64) {
	code := p.code[:p.n]
	jump, result := run(code, r, 0, true)
	if jump >= 0 && jump < len(code) {
		run(code[jump:], r, result, false)
	}
}

// run executes code on r, starting with result as the latest high
// multiplication's low half. With branches, it stops at the first branch
// taken and returns where to resume (and result then); otherwise branches
// are no-ops and it returns -1.
//
//go:norace
func run(code []instr, r *[8]uint64, result uint32, branches bool) (int, uint32) {
	for i := range code {
		in := code[i]
		d, s := in.ctl>>8&7, in.ctl>>16&7
		switch in.ctl & 0xff {
		case kindALU:
			x := bits.RotateLeft64(r[d], -int(in.ctl>>24&63))
			y := r[s]*in.k + in.c
			r[d] = x + y - ((x & y) << 1 & in.xor)
		case kindMul:
			r[d] *= r[s]
		case kindUMulH:
			hi, _ := bits.Mul64(r[d], r[s])
			r[d] = hi
			result = uint32(hi)
		case kindSMulH:
			hi := smulh(r[d], r[s])
			r[d] = hi
			result = uint32(hi)
		case kindBranch:
			if branches && result&uint32(in.c) == 0 {
				return int(in.k), result
			}
		}
	}
	return -1, result
}
