//go:build !purego

#include "textflag.h"

// func callBatch(code uintptr, regs *[8]uint64, n uint64)
//
// The generated code (compile_arm64.go) takes regs in R0 and regs+64n in
// R1 and clobbers R0-R5 and R8-R15, which ABI0 lets an assembly function
// clobber; the frame saves the link register across the call.
TEXT ·callBatch(SB), NOSPLIT, $16-24
	MOVD code+0(FP), R6
	MOVD regs+8(FP), R0
	MOVD n+16(FP), R1
	LSL  $6, R1, R1
	ADD  R0, R1, R1
	CALL (R6)
	RET

// func syncRange(start, end uintptr)
//
// DC CVAU over [start, end) by data cache lines, DSB ISH, IC IVAU by
// instruction cache lines, DSB ISH, ISB: the sequence the Arm ARM gives for
// making written instructions visible to instruction fetch. The line sizes
// come from CTR_EL0 (DminLine bits 19:16, IminLine bits 3:0, log2 of
// words), which Linux lets user code read.
TEXT ·syncRange(SB), NOSPLIT, $0-16
	MOVD start+0(FP), R0
	MOVD end+8(FP), R1
	WORD $0xd53b0022 // MRS X2, CTR_EL0
	UBFX $16, R2, $4, R3
	MOVD $4, R4
	LSL  R3, R4, R3   // data cache line, bytes
	SUB  $1, R3, R5
	BIC  R5, R0, R6
dloop:
	WORD $0xd50b7b26 // DC CVAU, X6
	ADD  R3, R6, R6
	CMP  R1, R6
	BLO  dloop
	WORD $0xd5033b9f // DSB ISH
	AND  $15, R2, R3
	MOVD $4, R4
	LSL  R3, R4, R3   // instruction cache line, bytes
	SUB  $1, R3, R5
	BIC  R5, R0, R6
iloop:
	WORD $0xd50b7526 // IC IVAU, X6
	ADD  R3, R6, R6
	CMP  R1, R6
	BLO  iloop
	WORD $0xd5033b9f // DSB ISH
	WORD $0xd5033fdf // ISB
	RET
