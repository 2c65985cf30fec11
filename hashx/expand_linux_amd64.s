//go:build !purego

#include "textflag.h"

// HashX's SipHash stages for four inputs at once, one per 64-bit lane of
// AVX2 registers: the expansion (siphash24CtrState512) before the program
// and the finalisation (HashX.finish) after it.

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

// SIPROUND is one SipRound on a, b, c, d (Y7 the rotl16 mask, t scratch).
#define SIPROUND4(a, b, c, d, t) \
	VPADDQ b, a, a \
	VPADDQ d, c, c \
	ROTL(13, b, t) \
	VPSHUFB Y7, d, d \
	VPXOR a, b, b \
	VPXOR c, d, d \
	VPSHUFD $0xb1, a, a \
	VPADDQ b, c, c \
	VPADDQ d, a, a \
	ROTL(17, b, t) \
	ROTL(21, d, t) \
	VPXOR c, b, b \
	VPXOR a, d, d \
	VPSHUFD $0xb1, c, c

#define SIPROUND SIPROUND4(Y0, Y1, Y2, Y3, Y5)

// TRANSPOSE turns four rows of four words (a, b, c, d) into four columns,
// in place (t0..t3 scratch).
#define TRANSPOSE(a, b, c, d, t0, t1, t2, t3) \
	VPUNPCKLQDQ b, a, t0 \
	VPUNPCKHQDQ b, a, t1 \
	VPUNPCKLQDQ d, c, t2 \
	VPUNPCKHQDQ d, c, t3 \
	VPERM2I128 $0x20, t2, t0, a \
	VPERM2I128 $0x20, t3, t1, b \
	VPERM2I128 $0x31, t2, t0, c \
	VPERM2I128 $0x31, t3, t1, d

// STORE4 writes the lanes of Y0..Y3 as four rows of four words, input i
// at off+64i(DI).
#define STORE4(off) \
	VMOVDQU Y0, Y12 \
	VMOVDQU Y1, Y13 \
	VMOVDQU Y2, Y14 \
	VMOVDQU Y3, Y15 \
	TRANSPOSE(Y12, Y13, Y14, Y15, Y8, Y9, Y10, Y11) \
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

// func finishAVX2(k *sipState, regs *[8]uint64, blocks int, out *uint64)
//
// For each block of four register files (HashX.finish, then Hash64): the
// files' words as columns, r0..r3 in Y0..Y3 and r4..r7 in Y8..Y11 (Y7
// holds the rotl16 mask), the keys added to r0, r1, r6 and r7, one
// SipRound per half, and r0^r4 stored. blocks >= 1; needs AVX2.
TEXT ·finishAVX2(SB), NOSPLIT, $0-32
	MOVQ k+0(FP), AX
	MOVQ regs+8(FP), SI
	MOVQ blocks+16(FP), CX
	MOVQ out+24(FP), DI
	VMOVDQU rotl16<>(SB), Y7

floop:
	VMOVDQU 0(SI), Y0
	VMOVDQU 64(SI), Y1
	VMOVDQU 128(SI), Y2
	VMOVDQU 192(SI), Y3
	TRANSPOSE(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y12)
	VMOVDQU 32(SI), Y8
	VMOVDQU 96(SI), Y9
	VMOVDQU 160(SI), Y10
	VMOVDQU 224(SI), Y11
	TRANSPOSE(Y8, Y9, Y10, Y11, Y4, Y5, Y6, Y12)
	VPBROADCASTQ 0(AX), Y4
	VPADDQ Y4, Y0, Y0
	VPBROADCASTQ 8(AX), Y4
	VPADDQ Y4, Y1, Y1
	VPBROADCASTQ 16(AX), Y4
	VPADDQ Y4, Y10, Y10
	VPBROADCASTQ 24(AX), Y4
	VPADDQ Y4, Y11, Y11
	SIPROUND4(Y0, Y1, Y2, Y3, Y5)
	SIPROUND4(Y8, Y9, Y10, Y11, Y5)
	VPXOR Y8, Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ $256, SI
	ADDQ $32, DI
	DECQ CX
	JNZ floop
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
