package hashx

import "math/bits"

// instr is one decoded instruction, 8 bytes. For opBranch, dst|src<<8 is
// the index the branch jumps back to (the latest TARGET before it, 0 if
// none, exactly as the reference's interpreter tracks it) and imm is the
// mask; for opAddC and opXorC, imm is sign-extended when executed.
type instr struct {
	op  uint8
	dst uint8
	src uint8
	_   uint8
	imm uint32
}

// program is a generated program; always requirementSize instructions
// once accepted.
type program struct {
	code [programSize]instr
}

func encode(in *genInstr, lastTarget int) instr {
	e := instr{op: in.op, imm: in.imm}
	switch in.op {
	case opBranch:
		e.dst = uint8(lastTarget)
		e.src = uint8(lastTarget >> 8)
	case opTarget:
	case opRor, opAddC, opXorC:
		e.dst = uint8(in.dst)
	default:
		e.dst = uint8(in.dst)
		e.src = uint8(in.src)
	}
	return e
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
	code := &p.code
	var result uint32
	branchEnable := true
	for i := 0; i < len(code); i++ {
		in := &code[i]
		d, s := in.dst&7, in.src&7
		switch in.op {
		case opUMulH:
			hi, _ := bits.Mul64(r[d], r[s])
			r[d] = hi
			result = uint32(hi)
		case opSMulH:
			hi := smulh(r[d], r[s])
			r[d] = hi
			result = uint32(hi)
		case opMul:
			r[d] *= r[s]
		case opSub:
			r[d] -= r[s]
		case opXor:
			r[d] ^= r[s]
		case opAddRS:
			r[d] += r[s] << (in.imm & 63)
		case opRor:
			r[d] = bits.RotateLeft64(r[d], -int(in.imm))
		case opAddC:
			r[d] += uint64(int64(int32(in.imm)))
		case opXorC:
			r[d] ^= uint64(int64(int32(in.imm)))
		case opTarget:
		case opBranch:
			if branchEnable && result&in.imm == 0 {
				i = int(in.dst) | int(in.src)<<8
				branchEnable = false
			}
		}
	}
}
