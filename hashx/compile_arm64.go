package hashx

import "encoding/binary"

// The AArch64 code generator, the counterpart of compile_amd64.go: one
// function with no stack frame and no calls that runs the program on a
// run of register files, eight words each, at X0, X0+64, ... up to X1
// (exclusive; at least one), keeping HashX's registers r0..r7 in X8..X15.
// Besides those it uses:
//
//   - W2, the low 32 bits of the latest high multiplication (0 before the
//     first one), which a branch tests;
//   - W3, 0 until a branch is taken and all ones after; a branch ORs it
//     into W2 before its test, so that a branch is taken at most once per
//     run, and a taken branch goes through a stub after the loop that sets
//     W3 and jumps back to the branch's target;
//   - X4 and W5 for the constants of ADD_C, XOR_C and a branch's mask.
//
// It leaves alone X18 (the platform register), X28 (Go's g), the frame
// pointer X29 and, but for its RET, the link register X30. Encodings from
// the Arm Architecture Reference Manual for A-profile, A64 base
// instructions.

// AArch64 registers used besides HashX's r0..r7 (X8+i).
const (
	aBase   = 0 // register files
	aEnd    = 1
	aResult = 2
	aTaken  = 3
	aConst  = 4
	aMask   = 5
	aZR     = 31
	a8      = 8
)

// A bound on the code: four LDPs and four STPs, at most 28 bytes for each
// of the at most programSize instructions (a branch: ORR, two moves of
// the mask, TST, B.EQ, and its stub's two instructions), the clearing of
// W2 and W3 and the loop's 16 bytes.
const maxCodeSize = 2*4*4 + programSize*28 + 2*4 + 16

// The mapping holds the largest code (a compile-time check).
const _ = uint(codeSize - maxCodeSize)

// maxBranches bounds the branches of a program (the generator's layout
// makes at most one per 12 cycles: 16).
const maxBranches = 64

// A branch's B.EQ to its stub, patched when the stubs are emitted.
type branchFixup struct {
	at     int // offset of the B.EQ
	target int // offset of the instruction the branch goes back to
}

// emitter appends instructions to a fixed buffer: the mapping itself.
type emitter struct {
	b    []byte
	n    int
	fix  [maxBranches]branchFixup
	nfix int
}

func (e *emitter) word(w uint32) {
	binary.LittleEndian.PutUint32(e.b[e.n:], w)
	e.n += 4
}

// dataProc is one of the 3-register data-processing forms with Rm at bit
// 16, Rn at 5 and Rd at 0 (base holds the opcode and any other fields).
func (e *emitter) dataProc(base uint32, d, n, m int) {
	e.word(base | uint32(m)<<16 | uint32(n)<<5 | uint32(d))
}

// pairs is LDP (load 1) or STP (0) of X8+2i, X9+2i at [X0, #16i] for
// each i < 4: the register file.
func (e *emitter) pairs(load uint32) {
	for i := range 4 {
		e.word(0xa9000000 | load<<22 | uint32(2*i)<<15 | uint32(a8+2*i+1)<<10 | aBase<<5 | uint32(a8+2*i))
	}
}

// mov32 is MOVZ and MOVK: the 32-bit v in Wd.
func (e *emitter) mov32(d int, v uint32) {
	e.word(0x52800000 | (v&0xffff)<<5 | uint32(d))     // MOVZ Wd, #lo
	e.word(0x72a00000 | (v>>16&0xffff)<<5 | uint32(d)) // MOVK Wd, #hi, LSL #16
}

// compileARM64 writes the machine code of program p to buf (at least
// maxCodeSize bytes) and returns its length, or 0 if the program holds an
// instruction it cannot encode (none that generate makes).
func compileARM64(p *program, buf []byte) int {
	e := emitter{b: buf[:maxCodeSize]}
	e.pairs(1)
	e.dataProc(0x2a000000, aResult, aZR, aZR) // MOV W2, WZR
	e.dataProc(0x2a000000, aTaken, aZR, aZR)  // MOV W3, WZR
	var at [programSize]int                   // code offset of each instruction
	for i, in := range p.code[:p.n] {
		at[i] = e.n
		if !e.instr(in, i, &at) {
			return 0
		}
	}
	e.pairs(0)
	e.word(0x91010000)                             // ADD X0, X0, #64
	e.dataProc(0xeb000000, aZR, aBase, aEnd)       // CMP X0, X1
	e.word(0x54000001 | uint32(-e.n/4)&0x7ffff<<5) // B.NE to the start
	e.word(0xd65f03c0)                             // RET
	e.stubs()
	return e.n
}

// instr emits decoded instruction i; at holds the offsets of the
// instructions up to it, the only ones a branch goes back to.
func (e *emitter) instr(in instr, i int, at *[programSize]int) bool {
	d, s := a8+int(in.ctl>>8&7), a8+int(in.ctl>>16&7)
	switch in.ctl & 0xff {
	case kindMul:
		e.dataProc(0x9b007c00, d, d, s) // MUL
	case kindUMulH:
		e.dataProc(0x9bc07c00, d, d, s)         // UMULH
		e.dataProc(0x2a000000, aResult, aZR, d) // MOV W2, Wd
	case kindSMulH:
		e.dataProc(0x9b407c00, d, d, s) // SMULH
		e.dataProc(0x2a000000, aResult, aZR, d)
	case kindBranch:
		// A zero mask (which the generator never makes) would pass
		// every test, taken or not: not compiled.
		if in.k > uint64(i) || uint32(in.c) == 0 || e.nfix == len(e.fix) {
			return false
		}
		e.dataProc(0x2a000000, aResult, aResult, aTaken) // ORR W2, W2, W3
		e.mov32(aMask, uint32(in.c))
		e.dataProc(0x6a000000, aZR, aResult, aMask) // TST W2, W5
		e.fix[e.nfix] = branchFixup{at: e.n, target: at[in.k]}
		e.nfix++
		e.word(0x54000000) // B.EQ stub, patched
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
	case formRotR: // EXTR Xd, Xd, Xd, #rot
		e.dataProc(0x93c00000|uint32(rot)<<10, d, d, d)
	case formAddC, formXorC:
		e.mov32(aConst, uint32(in.c))
		e.word(0x93407c00 | aConst<<5 | aConst) // SXTW X4, W4
		op := uint32(0x8b000000)                // ADD
		if form == formXorC {
			op = 0xca000000 // EOR
		}
		e.dataProc(op, d, d, aConst)
	case formSubR:
		e.dataProc(0xcb000000, d, d, s)
	case formXorR:
		e.dataProc(0xca000000, d, d, s)
	case formAddRS: // ADD Xd, Xd, Xs, LSL #shift
		e.dataProc(0x8b000000|uint32(shift)<<10, d, d, s)
	default:
		return false
	}
	return true
}

// stubs emits each branch's stub, which marks a branch taken and goes to
// its target (MOVN W3, #0; B target), and points the branch's B.EQ at it.
func (e *emitter) stubs() {
	for _, f := range e.fix[:e.nfix] {
		binary.LittleEndian.PutUint32(e.b[f.at:], 0x54000000|uint32((e.n-f.at)/4)&0x7ffff<<5)
		e.word(0x12800000 | aTaken)
		e.word(0x14000000 | uint32((f.target-e.n)/4)&0x3ffffff)
	}
}
