//go:build !purego

#include "textflag.h"

// func callBatch(code uintptr, regs *[8]uint64, n uint64)
//
// The generated code (compile_amd64.go) takes regs in BX and regs+64n in
// SI, uses no stack beyond its return address and clobbers AX, BX, CX,
// DX, SI and R8-R15. ABI0 lets an assembly function clobber every general
// register but SP and BP; the ABI wrapper that calls it from Go code
// restores R14 (g) and R15 afterwards.
TEXT ·callBatch(SB), NOSPLIT, $0-24
	MOVQ code+0(FP), AX
	MOVQ regs+8(FP), BX
	MOVQ n+16(FP), SI
	SHLQ $6, SI
	ADDQ BX, SI
	CALL AX
	RET
