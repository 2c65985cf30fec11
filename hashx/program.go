package hashx

import "math/bits"

// The interpreter's form of a program. The generator's instructions are
// decoded into four kinds: the six cheap register/constant operations share
// one branch-free formula (so that executing them costs no mispredicted
// dispatch), multiplication and the two high multiplications have their
// own, and TARGET, a no-op for execution, is dropped; a BRANCH carries the
// index to resume at instead.
const (
	kindALU uint8 = iota
	kindMul
	kindUMulH
	kindSMulH
	kindBranch
)

// ALU flags.
const (
	aluSrcReg = 1 << iota // y is r[src] (else y is the constant)
	aluNeg                // y is negated (SUB)
	aluAdd                // r[dst] = rot(r[dst]) + y (else ^ y)
)

// instr is one decoded instruction, 12 bytes. kindALU computes
//
//	x = r[dst] rotated right by rot
//	y = ((r[src] if aluSrcReg) | sign-extended imm) << shift, negated if aluNeg
//	r[dst] = x + y if aluAdd, else x ^ y
//
// which is ROR (y = 0), ADD_C, XOR_C, SUB_R, XOR_R or ADD_RS. For
// kindBranch, imm is the mask and jump the index to resume at.
type instr struct {
	kind  uint8
	dst   uint8
	src   uint8
	rot   uint8
	shift uint8
	flags uint8
	jump  uint16
	imm   uint32
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

// add appends the generator's instruction in.
func (p *program) add(in *genInstr) {
	e := instr{dst: uint8(in.dst), src: uint8(in.src)}
	switch in.op {
	case opTarget:
		p.resume = p.n
		return
	case opBranch:
		e = instr{kind: kindBranch, imm: in.imm, jump: uint16(p.resume)}
	case opUMulH:
		e.kind = kindUMulH
	case opSMulH:
		e.kind = kindSMulH
	case opMul:
		e.kind = kindMul
	case opSub:
		e.flags = aluSrcReg | aluNeg | aluAdd
	case opXor:
		e.flags = aluSrcReg
	case opAddRS:
		e.flags = aluSrcReg | aluAdd
		e.shift = uint8(in.imm)
	case opRor:
		e.src = 0
		e.rot = uint8(in.imm)
		e.flags = aluAdd
	case opAddC:
		e.src = 0
		e.imm = in.imm
		e.flags = aluAdd
	case opXorC:
		e.src = 0
		e.imm = in.imm
	}
	p.code[p.n] = e
	p.n++
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
func (p *program) execute(r *[8]uint64) {
	code := p.code[:p.n]
	var result uint32
	branchEnable := true
	for i := 0; i < len(code); i++ {
		in := &code[i]
		d, s := in.dst&7, in.src&7
		if in.kind == kindALU {
			f := uint64(in.flags)
			x := bits.RotateLeft64(r[d], -int(in.rot&63))
			y := (r[s] & -(f & aluSrcReg)) | uint64(int64(int32(in.imm)))
			y <<= in.shift & 63
			neg := -(f >> 1 & 1)
			y = (y ^ neg) - neg
			add := -(f >> 2 & 1)
			r[d] = ((x + y) & add) | ((x ^ y) &^ add)
			continue
		}
		switch in.kind {
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
			if branchEnable && result&in.imm == 0 {
				i = int(in.jump) - 1
				branchEnable = false
			}
		}
	}
}
