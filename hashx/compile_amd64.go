package hashx

import (
	"encoding/binary"
)

// The x86-64 code generator. It writes one function per HashX function,
// with no stack frame and no calls, which runs the program on a run of
// register files, eight words each, at RBX, RBX+64, ... up to RSI
// (exclusive; at least one): it loads a file into HashX's registers r0..r7,
// kept in R8..R15, runs the program, one machine instruction (three for a
// high multiplication, three for a branch) per HashX instruction, and
// stores the registers back. The SipHash expansion of the inputs before
// and the finalisation after are computed outside, four inputs at a time
// with AVX2 where the CPU has it (expand_linux_amd64.s): in the loop they
// would add their latency to the program's. Besides R8..R15, RBX and RSI,
// the code uses RAX and RDX (the high multiplications' operands and
// results) and RCX:
//
//   - EDX holds the low 32 bits of the latest high multiplication, the
//     value a branch tests (0 before the first one, as in the interpreter);
//   - ECX is 0 until a branch is taken and all ones after; a branch ORs it
//     into EDX before its test, which makes every test after a taken
//     branch fail: a branch is taken at most once per run. A taken branch
//     jumps to a stub after the loop that sets ECX and jumps back to the
//     branch's target, so that the path not taken is OR, TEST and JZ.
//
// The encodings follow the Intel 64 and IA-32 Architectures Software
// Developer's Manual, volume 2 (REX prefixes, ModRM and SIB bytes).

// x86-64 general registers by encoding number; HashX's ri is R8+i.
const (
	rAX = 0
	rDX = 2
	rBX = 3
	rSI = 6
	r8  = 8
)

// A bound on the code: eight 4-byte loads and stores, at most 14 bytes for
// each of the at most programSize instructions (a branch) and 8 for its
// stub, and the loop's 14 bytes; 8 more for the emitter's 8-byte stores.
const maxCodeSize = 2*8*4 + programSize*(14+8) + 14 + 8

// emitter appends machine code to a fixed buffer: the mapping itself.
type emitter struct {
	b    []byte
	n    int
	fix  [maxBranches]branchFixup // the branches, for their stubs
	nfix int
}

// maxBranches bounds the branches of a program (the generator's layout
// makes at most one per 12 cycles: 16).
const maxBranches = 64

// put appends the low n bytes of v (n <= 8) with one 8-byte store; the
// buffer has 8 bytes to spare.
func (e *emitter) put(v uint64, n int) {
	binary.LittleEndian.PutUint64(e.b[e.n:], v)
	e.n += n
}

func (e *emitter) byte1(a byte) { e.put(uint64(a), 1) }

func (e *emitter) byte3(a, b, c byte) { e.put(uint64(a)|uint64(b)<<8|uint64(c)<<16, 3) }

func (e *emitter) u32(v uint32) { e.put(uint64(v), 4) }

// rex is the REX prefix for 64-bit operands with reg in ModRM.reg (or SIB
// index: x) and rm in ModRM.rm (or SIB base).
func rex(reg, x, rm int) byte { return byte(0x48 | reg>>3<<2 | x>>3<<1 | rm>>3) }

// modRM is a register-direct ModRM byte.
func modRM(reg, rm int) byte { return byte(0xc0 | (reg&7)<<3 | rm&7) }

// regReg is one of the "op r/m64, r64" instructions (ADD 01, SUB 29, XOR
// 31, MOV 89, CMP 39) with dst in r/m and src in reg.
func (e *emitter) regReg(opcode byte, dst, src int) {
	e.byte3(rex(src, 0, dst), opcode, modRM(src, dst))
}

// group1 is ADD (ext 0), XOR (ext 6) and the other 81 /ext instructions:
// dst with a sign-extended 32-bit constant.
func (e *emitter) group1(ext, dst int, c uint32) {
	e.put(uint64(rex(0, 0, dst))|0x81<<8|uint64(modRM(ext, dst))<<16|uint64(c)<<24, 7)
}

// rotate is ROL (ext 0) or ROR (ext 1) of dst by n.
func (e *emitter) rotate(ext, dst int, n uint64) {
	e.put(uint64(rex(0, 0, dst))|0xc1<<8|uint64(modRM(ext, dst))<<16|n<<24, 4)
}

// clearFlags zeroes EDX (the latest high multiplication) and ECX (no
// branch taken yet): XOR EDX, EDX; XOR ECX, ECX.
func (e *emitter) clearFlags() {
	e.byte3(0x31, 0xd2, 0x31)
	e.byte1(0xc9)
}

// mulHigh is MOV RAX, dst; MUL or IMUL src (ext 4 or 5: RDX:RAX =
// RAX*src); MOV dst, RDX.
func (e *emitter) mulHigh(ext, dst, src int) {
	e.regReg(0x89, rAX, dst)
	e.byte3(rex(0, 0, src), 0xf7, modRM(ext, src))
	e.regReg(0x89, dst, rDX)
}

// addShifted is LEA dst, [dst+src<<shift]. R13 as a SIB base needs a
// displacement (mod 01, disp8 0); HashX never makes r5 ADD_RS's
// destination, so the generator's programs never pay for it.
func (e *emitter) addShifted(dst, src int, shift uint64) {
	sib := byte(shift<<6) | byte(src&7)<<3 | byte(dst&7)
	if dst&7 == 5 {
		e.byte3(rex(dst, src, dst), 0x8d, byte(0x44|(dst&7)<<3))
		e.byte1(sib)
		e.byte1(0)
		return
	}
	e.byte3(rex(dst, src, dst), 0x8d, byte(0x04|(dst&7)<<3))
	e.byte1(sib)
}

// A branch's jump to its stub, patched when the stubs are emitted.
type branchFixup struct {
	rel    int // offset of the JZ's 32-bit displacement
	target int // offset of the instruction the branch goes back to
}

// branch tests the latest high multiplication's low half (EDX), or all
// ones once a branch was taken (ECX), against mask, and when no bit of the
// mask is set jumps to its stub (see stubs):
//
//	OR EDX, ECX; TEST EDX, mask; JZ stub
func (e *emitter) branch(mask uint32, target int) bool {
	if e.nfix == len(e.fix) {
		return false
	}
	e.put(0x09|0xca<<8|0xf7<<16|0xc2<<24|uint64(mask)<<32, 8)
	e.put(0x840f, 2)
	e.fix[e.nfix] = branchFixup{rel: e.n, target: target}
	e.nfix++
	e.put(0, 4)
	return true
}

// stubs emits each branch's stub, which marks a branch taken and goes to
// its target, OR ECX, -1; JMP target, and points the branch's JZ at it.
func (e *emitter) stubs() {
	for _, f := range e.fix[:e.nfix] {
		binary.LittleEndian.PutUint32(e.b[f.rel:], uint32(int32(e.n-(f.rel+4))))
		e.put(0x83|0xc9<<8|0xff<<16|0xe9<<24, 4)
		e.put(uint64(uint32(int32(f.target-(e.n+4)))), 4)
	}
}

// compileAMD64 writes the machine code of program p to buf (at least
// maxCodeSize bytes) and returns its length, or 0 if the program holds an
// instruction it cannot encode (none that generate makes).
func compileAMD64(p *program, buf []byte) int {
	e := emitter{b: buf[:maxCodeSize]}
	e.regFile(0x8b) // MOV R8+i, [RBX+8i]
	e.clearFlags()
	if !e.program(p) {
		return 0
	}
	e.regFile(0x89)           // MOV [RBX+8i], R8+i
	e.byte3(0x48, 0x83, 0xc3) // ADD RBX, 64
	e.byte1(64)
	e.regReg(0x39, rBX, rSI) // CMP RBX, RSI
	e.byte1(0x0f)            // JNE to the start
	e.byte1(0x85)
	e.u32(uint32(int32(-(e.n + 4))))
	e.byte1(0xc3) // RET
	e.stubs()
	return e.n
}

// regFile is MOV between R8+i and [RBX+8i] for each register: load
// (opcode 8B) or store (89).
func (e *emitter) regFile(opcode byte) {
	for i := range 8 {
		e.byte3(rex(r8+i, 0, rBX), opcode, byte(0x43|i<<3))
		e.byte1(byte(8 * i))
	}
}

// program emits p's instructions.
func (e *emitter) program(p *program) bool {
	var at [programSize]int // code offset of each instruction
	for i, in := range p.code[:p.n] {
		at[i] = e.n
		if !e.instr(in, i, &at) {
			return false
		}
	}
	return true
}

// instr emits decoded instruction i; at holds the offsets of the
// instructions up to it, the only ones a branch goes back to.
func (e *emitter) instr(in instr, i int, at *[programSize]int) bool {
	d, s := r8+int(in.ctl>>8&7), r8+int(in.ctl>>16&7)
	switch in.ctl & 0xff {
	case kindMul:
		// IMUL dst, src
		e.put(uint64(rex(d, 0, s))|0xaf0f<<8|uint64(modRM(d, s))<<24, 4)
	case kindUMulH:
		e.mulHigh(4, d, s)
	case kindSMulH:
		e.mulHigh(5, d, s)
	case kindBranch:
		// A zero mask (which the generator never makes: its masks have 4
		// bits) would pass every test, taken or not: not compiled.
		if in.k > uint64(i) || uint32(in.c) == 0 {
			return false
		}
		return e.branch(uint32(in.c), at[in.k])
	case kindALU:
		return e.alu(in, d, s)
	default:
		return false
	}
	return true
}

// alu recognises which HashX instruction an interpreter ALU form came
// from (see instr) and emits it.
func (e *emitter) alu(in instr, d, s int) bool {
	form, rot, shift := aluFormOf(in)
	switch form {
	case formRotR:
		e.rotate(1, d, rot)
	case formAddC:
		e.group1(0, d, uint32(in.c))
	case formXorC:
		e.group1(6, d, uint32(in.c))
	case formSubR:
		e.regReg(0x29, d, s)
	case formXorR:
		e.regReg(0x31, d, s)
	case formAddRS:
		if shift == 0 {
			e.regReg(0x01, d, s)
		} else {
			e.addShifted(d, s, shift)
		}
	default:
		return false
	}
	return true
}
