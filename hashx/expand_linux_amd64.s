//go:build !purego

#include "textflag.h"

// The SipHash expansion (siphash24CtrState512) of four consecutive inputs
// at once, one per 64-bit lane of the AVX2 registers Y0..Y3 (v0..v3).

// rotl16 is a VPSHUFB mask rotating each 64-bit lane left by 16 bits:
// result byte j is source byte (j+6) mod 8 of its lane.
DATA rotl16<>+0(SB)/8, $0x0504030201000706
DATA rotl16<>+8(SB)/8, $0x0d0c0b0a09080f0e
DATA rotl16<>+16(SB)/8, $0x0504030201000706
DATA rotl16<>+24(SB)/8, $0x0d0c0b0a09080f0e
GLOBL rotl16<>(SB), RODATA|NOPTR, $32

// lanes are the inputs' offsets from the block's first.
DATA lanes<>+0(SB)/8, $0
DATA lanes<>+8(SB)/8, $1
DATA lanes<>+16(SB)/8, $2
DATA lanes<>+24(SB)/8, $3
GLOBL lanes<>(SB), RODATA|NOPTR, $32

DATA constEE<>+0(SB)/8, $0xee
GLOBL constEE<>(SB), RODATA|NOPTR, $8

DATA constDD<>+0(SB)/8, $0xdd
GLOBL constDD<>(SB), RODATA|NOPTR, $8

DATA constFour<>+0(SB)/8, $4
GLOBL constFour<>(SB), RODATA|NOPTR, $8

// ROTL rotates each lane of r left by n (t a scratch register).
#define ROTL(n, r, t) \
	VPSLLQ $n, r, t \
	VPSRLQ $(64-n), r, r \
	VPOR   t, r, r

// SIPROUND is one SipRound on Y0..Y3 (Y7 the rotl16 mask, Y5 scratch).
#define SIPROUND \
	VPADDQ Y1, Y0, Y0 \
	VPADDQ Y3, Y2, Y2 \
	ROTL(13, Y1, Y5) \
	VPSHUFB Y7, Y3, Y3 \
	VPXOR Y0, Y1, Y1 \
	VPXOR Y2, Y3, Y3 \
	VPSHUFD $0xb1, Y0, Y0 \
	VPADDQ Y1, Y2, Y2 \
	VPADDQ Y3, Y0, Y0 \
	ROTL(17, Y1, Y5) \
	ROTL(21, Y3, Y5) \
	VPXOR Y2, Y1, Y1 \
	VPXOR Y0, Y3, Y3 \
	VPSHUFD $0xb1, Y2, Y2

// STORE4 writes the lanes of Y0..Y3 as four rows of four words, input i
// at off+64i(DI): a 4x4 transpose (T: Y8..Y11, rows Y12..Y15).
#define STORE4(off) \
	VPUNPCKLQDQ Y1, Y0, Y8 \
	VPUNPCKHQDQ Y1, Y0, Y9 \
	VPUNPCKLQDQ Y3, Y2, Y10 \
	VPUNPCKHQDQ Y3, Y2, Y11 \
	VPERM2I128 $0x20, Y10, Y8, Y12 \
	VPERM2I128 $0x20, Y11, Y9, Y13 \
	VPERM2I128 $0x31, Y10, Y8, Y14 \
	VPERM2I128 $0x31, Y11, Y9, Y15 \
	VMOVDQU Y12, (off)(DI) \
	VMOVDQU Y13, (off+64)(DI) \
	VMOVDQU Y14, (off+128)(DI) \
	VMOVDQU Y15, (off+192)(DI)

// func expandAVX2(k *sipState, start uint64, blocks int, out *[8]uint64)
//
// For i < 4*blocks, out's i-th [8]uint64 gets siphash24CtrState512 of
// start+i under k. blocks >= 1; needs AVX2 (hasAVX2).
TEXT ·expandAVX2(SB), NOSPLIT, $0-32
	MOVQ k+0(FP), AX
	MOVQ out+24(FP), DI
	MOVQ blocks+16(FP), CX
	VPBROADCASTQ start+8(FP), Y4
	VPADDQ lanes<>(SB), Y4, Y4
	VMOVDQU rotl16<>(SB), Y7
	VPBROADCASTQ constEE<>(SB), Y6

loop:
	VPBROADCASTQ 0(AX), Y0
	VPBROADCASTQ 8(AX), Y1
	VPXOR Y6, Y1, Y1
	VPBROADCASTQ 16(AX), Y2
	VPBROADCASTQ 24(AX), Y3
	VPXOR Y4, Y3, Y3
	SIPROUND
	SIPROUND
	VPXOR Y4, Y0, Y0
	VPXOR Y6, Y2, Y2
	SIPROUND
	SIPROUND
	SIPROUND
	SIPROUND
	STORE4(0)
	VPBROADCASTQ constDD<>(SB), Y5
	VPXOR Y5, Y1, Y1
	SIPROUND
	SIPROUND
	SIPROUND
	SIPROUND
	STORE4(32)
	VPBROADCASTQ constFour<>(SB), Y5
	VPADDQ Y5, Y4, Y4
	ADDQ $256, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET

// func hasAVX2() bool
//
// CPUID says AVX2, and the OS saves the YMM state (OSXSAVE, XCR0).
TEXT ·hasAVX2(SB), NOSPLIT, $0-1
	MOVL $1, AX
	XORL CX, CX
	CPUID
	ANDL $(1<<27|1<<28), CX // OSXSAVE, AVX
	CMPL CX, $(1<<27|1<<28)
	JNE  no
	XORL CX, CX
	XGETBV
	ANDL $6, AX // XMM and YMM state
	CMPL AX, $6
	JNE  no
	MOVL $7, AX
	XORL CX, CX
	CPUID
	ANDL $(1<<5), BX // AVX2
	JZ   no
	MOVB $1, ret+0(FP)
	RET
no:
	MOVB $0, ret+0(FP)
	RET
