package hashx

import "math/bits"

// The x86-64 code generator. A compiled program is one function with no
// stack frame and no calls: it loads HashX's eight registers from the
// register file whose address is in RDI into R8..R15 (HashX's r0..r7),
// runs the program's instructions one machine instruction (two or three
// for the high multiplications) each, stores the registers back and
// returns. Besides R8..R15 it uses only RAX and RDX (the high
// multiplications' operands and results) and RCX:
//
//   - EDX holds the low 32 bits of the latest high multiplication, the
//     value a branch tests (0 before the first one, as in the interpreter);
//   - ECX is 0 until a branch is taken and all ones after, which makes
//     every later branch test fail: a branch is taken at most once per run.
//
// The encodings follow the Intel 64 and IA-32 Architectures Software
// Developer's Manual, volume 2 (REX prefixes, ModRM and SIB bytes).

// maxCodeSize bounds a compiled program: a prologue and an epilogue of
// eight 4-byte moves each (and 5 more bytes), and at most 19 bytes for each
// of the at most programSize instructions (a branch).
const maxCodeSize = 8*4 + 4 + programSize*19 + 8*4 + 1

// REX prefixes (0100WRXB) for 64-bit operands.
const (
	rexWB  = 0x49 // ModRM.rm is R8..R15
	rexWR  = 0x4c // ModRM.reg is R8..R15
	rexWRB = 0x4d // both
	rexAll = 0x4f // reg, SIB index and SIB base all R8..R15
)

// emitter appends machine code to a fixed buffer: the mapping itself.
type emitter struct {
	b []byte
	n int
}

func (e *emitter) byte1(a byte) {
	e.b[e.n] = a
	e.n++
}

func (e *emitter) byte3(a, b, c byte) {
	e.b[e.n], e.b[e.n+1], e.b[e.n+2] = a, b, c
	e.n += 3
}

func (e *emitter) u32(v uint32) {
	e.b[e.n], e.b[e.n+1], e.b[e.n+2], e.b[e.n+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	e.n += 4
}

// modRM is a register-direct ModRM byte.
func modRM(reg, rm uint64) byte { return byte(0xc0 | (reg&7)<<3 | rm&7) }

// loadRegs is MOV R8+i, [RDI+8i] for each register.
func (e *emitter) loadRegs() {
	for i := range uint64(8) {
		e.byte3(rexWR, 0x8b, byte(0x47|i<<3))
		e.byte1(byte(8 * i))
	}
}

// storeRegs is MOV [RDI+8i], R8+i for each register.
func (e *emitter) storeRegs() {
	for i := range uint64(8) {
		e.byte3(rexWR, 0x89, byte(0x47|i<<3))
		e.byte1(byte(8 * i))
	}
}

// regReg is one of the "op r/m64, r64" instructions (ADD 01, SUB 29, XOR
// 31) with dst in r/m and src in reg.
func (e *emitter) regReg(opcode byte, dst, src uint64) {
	e.byte3(rexWRB, opcode, modRM(src, dst))
}

// mulHigh is MOV RAX, dst; MUL or IMUL src (ext 4 or 5: RDX:RAX =
// RAX*src); MOV dst, RDX.
func (e *emitter) mulHigh(ext, dst, src uint64) {
	e.byte3(rexWR, 0x89, modRM(dst, 0))
	e.byte3(rexWB, 0xf7, modRM(ext, src))
	e.byte3(rexWB, 0x89, modRM(2, dst))
}

// addShifted is LEA dst, [dst+src<<shift]. R13 as a SIB base needs a
// displacement (mod 01, disp8 0); HashX never makes r5 ADD_RS's
// destination, so the generator's programs never pay for it.
func (e *emitter) addShifted(dst, src, shift uint64) {
	sib := byte(shift<<6 | (src&7)<<3 | dst&7)
	if dst&7 == 5 {
		e.byte3(rexAll, 0x8d, byte(0x44|(dst&7)<<3))
		e.byte1(sib)
		e.byte1(0)
		return
	}
	e.byte3(rexAll, 0x8d, byte(0x04|(dst&7)<<3))
	e.byte1(sib)
}

// immediate is ADD (ext 0) or XOR (ext 6) of dst with a sign-extended
// 32-bit constant.
func (e *emitter) immediate(ext, dst uint64, c uint32) {
	e.byte3(rexWB, 0x81, modRM(ext, dst))
	e.u32(c)
}

// branch tests the latest high multiplication's low half (EDX), unless a
// branch was taken already (ECX all ones), against mask, and when no bit
// of the mask is set takes the branch: marks it taken and jumps to target:
//
//	MOV EAX, ECX; OR EAX, EDX; TEST EAX, mask; JNZ +8; OR ECX, -1; JMP target
func (e *emitter) branch(mask uint32, target int) {
	e.byte3(0x89, 0xc8, 0x09)
	e.byte3(0xd0, 0xa9, byte(mask))
	e.byte3(byte(mask>>8), byte(mask>>16), byte(mask>>24))
	e.byte3(0x75, 0x08, 0x83)
	e.byte3(0xc9, 0xff, 0xe9)
	e.u32(uint32(int32(target - (e.n + 4))))
}

// compileAMD64 writes p's machine code to buf (at least maxCodeSize bytes)
// and returns its length, or 0 if p holds an instruction it cannot encode
// (none that generate makes).
func compileAMD64(p *program, buf []byte) int {
	e := emitter{b: buf[:maxCodeSize]}
	var at [programSize + 1]int // code offset of each instruction
	e.loadRegs()
	e.byte3(0x31, 0xd2, 0x31) // XOR EDX, EDX; XOR ECX, ECX
	e.byte1(0xc9)
	for i, in := range p.code[:p.n] {
		at[i] = e.n
		if !e.instr(in, i, &at) {
			return 0
		}
	}
	e.storeRegs()
	e.byte1(0xc3) // RET
	return e.n
}

// instr emits decoded instruction i; at holds the offsets of the
// instructions up to it, the only ones a branch goes back to.
func (e *emitter) instr(in instr, i int, at *[programSize + 1]int) bool {
	d, s := in.ctl>>8&7, in.ctl>>16&7
	switch in.ctl & 0xff {
	case kindMul:
		e.byte3(rexWRB, 0x0f, 0xaf) // IMUL dst, src
		e.byte1(modRM(d, s))
	case kindUMulH:
		e.mulHigh(4, d, s)
	case kindSMulH:
		e.mulHigh(5, d, s)
	case kindBranch:
		if in.k > uint64(i) {
			return false
		}
		e.branch(uint32(in.c), at[in.k])
	case kindALU:
		return e.alu(in, d, s)
	default:
		return false
	}
	return true
}

// alu recognises which HashX instruction an interpreter ALU form came
// from (see instr) and emits it.
func (e *emitter) alu(in instr, d, s uint64) bool {
	rot := in.ctl >> 24 & 63
	switch {
	case in.k == 0 && in.c == 0: // ROR_C
		e.byte3(rexWB, 0xc1, modRM(1, d))
		e.byte1(byte(rot))
	case rot != 0:
		return false
	case in.k == 0 && uint64(int64(int32(in.c))) == in.c && in.xor == 0: // ADD_C
		e.immediate(0, d, uint32(in.c))
	case in.k == 0 && uint64(int64(int32(in.c))) == in.c && in.xor == ^uint64(0): // XOR_C
		e.immediate(6, d, uint32(in.c))
	case in.c != 0:
		return false
	case in.k == ^uint64(0) && in.xor == 0: // SUB_R
		e.regReg(0x29, d, s)
	case in.k == 1 && in.xor == ^uint64(0): // XOR_R
		e.regReg(0x31, d, s)
	case in.k == 1 && in.xor == 0: // ADD_RS, shift 0
		e.regReg(0x01, d, s)
	case (in.k == 2 || in.k == 4 || in.k == 8) && in.xor == 0: // ADD_RS
		e.addShifted(d, s, uint64(bits.TrailingZeros64(in.k)))
	default:
		return false
	}
	return true
}
