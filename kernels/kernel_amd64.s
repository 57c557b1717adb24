//go:build amd64 && !purego && !noasm

#include "textflag.h"

// AVX2 + FMA micro-kernels, declared in kernel_amd64.go.
//
// Every MatMul kernel here computes each dot product x . w in the one
// canonical order of this implementation:
//
//  1. eight float32 lanes, acc[l] = fma(x[c], w[c], acc[l]) for c = 8j+l,
//     over the whole blocks of eight (VFMADD231PS);
//  2. if cols%8 != 0, one more step over the last cols%8 elements, loaded
//     with a mask so that the missing lanes add fma(0, 0, acc[l]);
//  3. the reduction HSUM: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
//
// A kernel computes several dot products at once only to reuse its loads;
// each product keeps its own accumulator and sees the same operations, so
// the result of one (position, weight row) pair does not depend on the
// kernel, the block or the batch that computed it.
//
// Go assembly lists operands source first: VFMADD231PS A, B, C computes
// C = A*B + C.

// tailMask<> is eight -1 words then eight 0 words: the eight words from
// byte offset 32-4t form the mask of the first t lanes.
DATA tailMask<>+0(SB)/4, $0xffffffff
DATA tailMask<>+4(SB)/4, $0xffffffff
DATA tailMask<>+8(SB)/4, $0xffffffff
DATA tailMask<>+12(SB)/4, $0xffffffff
DATA tailMask<>+16(SB)/4, $0xffffffff
DATA tailMask<>+20(SB)/4, $0xffffffff
DATA tailMask<>+24(SB)/4, $0xffffffff
DATA tailMask<>+28(SB)/4, $0xffffffff
DATA tailMask<>+32(SB)/4, $0
DATA tailMask<>+36(SB)/4, $0
DATA tailMask<>+40(SB)/4, $0
DATA tailMask<>+44(SB)/4, $0
DATA tailMask<>+48(SB)/4, $0
DATA tailMask<>+52(SB)/4, $0
DATA tailMask<>+56(SB)/4, $0
DATA tailMask<>+60(SB)/4, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// HSUM reduces the eight lanes of Y (whose low half is X) to a float32 in
// the low lane of X, in the canonical order, and stores it at dst. T is a
// scratch X register. Step by step: T = l4..l7; X = l0+l4, l1+l5, l2+l6,
// l3+l7 (a VEX write of X clears the upper half of Y); T = X[2:4];
// X[0:2] = (l0+l4)+(l2+l6), (l1+l5)+(l3+l7); T[0] = X[1]; X[0] += T[0].
#define HSUM(Y, X, T, dst) \
	VEXTRACTF128 $1, Y, T; \
	VADDPS       T, X, X;  \
	VMOVHLPS     X, X, T;  \
	VADDPS       T, X, X;  \
	VMOVSHDUP    X, T;     \
	VADDSS       T, X, X;  \
	VMOVSS       X, dst

// TAILMASK loads into Y the mask of the first t = cols - main lanes, where
// CX holds cols and R11 holds main (cols rounded down to 8): the eight
// words at tailMask<>+32-4t. Clobbers DX and R12.
#define TAILMASK(Y) \
	MOVQ    R11, DX;                \
	SUBQ    CX, DX;                 \
	LEAQ    tailMask<>+32(SB), R12; \
	VMOVUPS (R12)(DX*4), Y

// func kern4x3F32(out *[12]float32, x0, x1, x2, x3, w0, w1, w2 *float32, cols int)
//
// out[3p+k] = x_p . w_k for four positions x_p and three weight rows w_k,
// all float32 of length cols.
//
// Registers: R8, R9, R10, R13 = x0..x3; SI, DI, BX = w0..w2; CX = cols;
// R11 = cols rounded down to 8; AX = c, the element index; DX = out
// (after TAILMASK's use of it); R12 = TAILMASK's scratch.
// Y0..Y11 = the accumulators, Y(3p+k) for x_p . w_k; Y12..Y14 = w0..w2 at
// c; Y15 = x_p at c. In the tail Y15 is the mask, Y12 one masked weight
// block and Y13 one masked position block; X12 is HSUM's scratch.
TEXT ·kern4x3F32(SB), NOSPLIT, $0-72
	MOVQ x0+8(FP), R8
	MOVQ x1+16(FP), R9
	MOVQ x2+24(FP), R10
	MOVQ x3+32(FP), R13
	MOVQ w0+40(FP), SI
	MOVQ w1+48(FP), DI
	MOVQ w2+56(FP), BX
	MOVQ cols+64(FP), CX
	MOVQ CX, R11
	ANDQ $-8, R11
	XORQ AX, AX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	// Whole blocks of eight: three weight loads and four position loads
	// feed twelve FMAs.
loop:
	CMPQ        AX, R11
	JAE         tail
	VMOVUPS     (SI)(AX*4), Y12
	VMOVUPS     (DI)(AX*4), Y13
	VMOVUPS     (BX)(AX*4), Y14
	VMOVUPS     (R8)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y0
	VFMADD231PS Y15, Y13, Y1
	VFMADD231PS Y15, Y14, Y2
	VMOVUPS     (R9)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y3
	VFMADD231PS Y15, Y13, Y4
	VFMADD231PS Y15, Y14, Y5
	VMOVUPS     (R10)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y6
	VFMADD231PS Y15, Y13, Y7
	VFMADD231PS Y15, Y14, Y8
	VMOVUPS     (R13)(AX*4), Y15
	VFMADD231PS Y15, Y12, Y9
	VFMADD231PS Y15, Y13, Y10
	VFMADD231PS Y15, Y14, Y11
	ADDQ        $8, AX
	JMP         loop

	// The last cols%8 elements, masked (Y15 = mask): per weight row, a
	// masked load into Y12, then each position in Y13.
tail:
	CMPQ       R11, CX
	JEQ        reduce
	TAILMASK(Y15)
	VMASKMOVPS (SI)(AX*4), Y15, Y12
	VMASKMOVPS (R8)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y0
	VMASKMOVPS (R9)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y3
	VMASKMOVPS (R10)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y6
	VMASKMOVPS (R13)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y9
	VMASKMOVPS (DI)(AX*4), Y15, Y12
	VMASKMOVPS (R8)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y1
	VMASKMOVPS (R9)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y4
	VMASKMOVPS (R10)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y7
	VMASKMOVPS (R13)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y10
	VMASKMOVPS (BX)(AX*4), Y15, Y12
	VMASKMOVPS (R8)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y2
	VMASKMOVPS (R9)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y5
	VMASKMOVPS (R10)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y8
	VMASKMOVPS (R13)(AX*4), Y15, Y13
	VFMADD231PS Y13, Y12, Y11

reduce:
	MOVQ out+0(FP), DX
	HSUM(Y0, X0, X12, 0(DX))
	HSUM(Y1, X1, X12, 4(DX))
	HSUM(Y2, X2, X12, 8(DX))
	HSUM(Y3, X3, X12, 12(DX))
	HSUM(Y4, X4, X12, 16(DX))
	HSUM(Y5, X5, X12, 20(DX))
	HSUM(Y6, X6, X12, 24(DX))
	HSUM(Y7, X7, X12, 28(DX))
	HSUM(Y8, X8, X12, 32(DX))
	HSUM(Y9, X9, X12, 36(DX))
	HSUM(Y10, X10, X12, 40(DX))
	HSUM(Y11, X11, X12, 44(DX))
	VZEROUPPER
	RET

// func kern1x4F32(out *[4]float32, x, w0, w1, w2, w3 *float32, cols int)
//
// out[k] = x . w_k for one position and four weight rows, all float32 of
// length cols.
//
// Registers: R8 = x; SI, DI, BX, R9 = w0..w3; CX = cols; R11 = cols
// rounded down to 8; AX = c; DX = out (after TAILMASK's use of it).
// Y0..Y3 = the accumulators of w0..w3; Y4 = x at c; Y5 = a weight block
// in the tail; Y6 = the mask; X12 = HSUM's scratch.
TEXT ·kern1x4F32(SB), NOSPLIT, $0-56
	MOVQ x+8(FP), R8
	MOVQ w0+16(FP), SI
	MOVQ w1+24(FP), DI
	MOVQ w2+32(FP), BX
	MOVQ w3+40(FP), R9
	MOVQ cols+48(FP), CX
	MOVQ CX, R11
	ANDQ $-8, R11
	XORQ AX, AX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	CMPQ        AX, R11
	JAE         tail
	VMOVUPS     (R8)(AX*4), Y4
	VFMADD231PS (SI)(AX*4), Y4, Y0
	VFMADD231PS (DI)(AX*4), Y4, Y1
	VFMADD231PS (BX)(AX*4), Y4, Y2
	VFMADD231PS (R9)(AX*4), Y4, Y3
	ADDQ        $8, AX
	JMP         loop

tail:
	CMPQ       R11, CX
	JEQ        reduce
	TAILMASK(Y6)
	VMASKMOVPS (R8)(AX*4), Y6, Y4
	VMASKMOVPS (SI)(AX*4), Y6, Y5
	VFMADD231PS Y5, Y4, Y0
	VMASKMOVPS (DI)(AX*4), Y6, Y5
	VFMADD231PS Y5, Y4, Y1
	VMASKMOVPS (BX)(AX*4), Y6, Y5
	VFMADD231PS Y5, Y4, Y2
	VMASKMOVPS (R9)(AX*4), Y6, Y5
	VFMADD231PS Y5, Y4, Y3

reduce:
	MOVQ out+0(FP), DX
	HSUM(Y0, X0, X12, 0(DX))
	HSUM(Y1, X1, X12, 4(DX))
	HSUM(Y2, X2, X12, 8(DX))
	HSUM(Y3, X3, X12, 12(DX))
	VZEROUPPER
	RET

// func kern1x4BF16(out *[4]float32, x *float32, w0, w1, w2, w3 *uint16, cols int)
//
// kern1x4F32 with bfloat16 weight rows, decoded in registers: zero-extend
// each 16-bit word to 32 bits and shift it to the top half, which is
// exact. cols must be a multiple of 8 (no tail step).
//
// Registers: R8 = x; SI, DI, BX, R9 = w0..w3; R11 = cols; AX = c; DX =
// out. Y0..Y3 = the accumulators; Y4 = x at c; Y5..Y8 = the decoded
// weights of w0..w3 at c.
TEXT ·kern1x4BF16(SB), NOSPLIT, $0-56
	MOVQ x+8(FP), R8
	MOVQ w0+16(FP), SI
	MOVQ w1+24(FP), DI
	MOVQ w2+32(FP), BX
	MOVQ w3+40(FP), R9
	MOVQ cols+48(FP), R11
	XORQ AX, AX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	CMPQ        AX, R11
	JAE         reduce
	VMOVUPS     (R8)(AX*4), Y4
	VPMOVZXWD   (SI)(AX*2), Y5
	VPMOVZXWD   (DI)(AX*2), Y6
	VPMOVZXWD   (BX)(AX*2), Y7
	VPMOVZXWD   (R9)(AX*2), Y8
	VPSLLD      $16, Y5, Y5
	VPSLLD      $16, Y6, Y6
	VPSLLD      $16, Y7, Y7
	VPSLLD      $16, Y8, Y8
	VFMADD231PS Y5, Y4, Y0
	VFMADD231PS Y6, Y4, Y1
	VFMADD231PS Y7, Y4, Y2
	VFMADD231PS Y8, Y4, Y3
	ADDQ        $8, AX
	JMP         loop

reduce:
	MOVQ out+0(FP), DX
	HSUM(Y0, X0, X12, 0(DX))
	HSUM(Y1, X1, X12, 4(DX))
	HSUM(Y2, X2, X12, 8(DX))
	HSUM(Y3, X3, X12, 12(DX))
	VZEROUPPER
	RET

// func kern1x8BF16(out *[8]float32, x *float32, w *uint16, stride, cols, pfd int)
//
// kern1x4BF16 for eight weight rows w + k*stride (k < 8, stride in
// elements), each summed in the canonical order with its own accumulator:
// the kernel only loads more rows at once (eight independent FMA chains
// instead of four) and prefetches, one 64-byte line per row and step of 32
// columns, pfd bytes ahead of each row's loads. Prefetches never fault, so
// those that run past the end of a row or of the matrix are harmless.
// cols must be a multiple of 8.
//
// Registers: R8 = x; SI, DI, BX, R9, R10, R12, R13, CX = w0..w7, all
// advanced as the loop goes; AX = the columns left; DX = pfd; R11 = out at
// the end. Y0..Y7 = the accumulators; Y8 = x; Y9..Y15 = decoded weights.
TEXT ·kern1x8BF16(SB), NOSPLIT, $0-48
	MOVQ x+8(FP), R8
	MOVQ w+16(FP), SI
	MOVQ stride+24(FP), R11
	SHLQ $1, R11
	LEAQ (SI)(R11*1), DI
	LEAQ (DI)(R11*1), BX
	LEAQ (BX)(R11*1), R9
	LEAQ (R9)(R11*1), R10
	LEAQ (R10)(R11*1), R12
	LEAQ (R12)(R11*1), R13
	LEAQ (R13)(R11*1), CX
	MOVQ cols+32(FP), AX
	MOVQ pfd+40(FP), DX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

	// Steps of 32 columns: four blocks of eight, one line of each row.
loop32:
	CMPQ AX, $32
	JB   loop8
	PREFETCHT0  (SI)(DX*1)
	PREFETCHT0  (DI)(DX*1)
	PREFETCHT0  (BX)(DX*1)
	PREFETCHT0  (R9)(DX*1)
	PREFETCHT0  (R10)(DX*1)
	PREFETCHT0  (R12)(DX*1)
	PREFETCHT0  (R13)(DX*1)
	PREFETCHT0  (CX)(DX*1)
	VMOVUPS     0(R8), Y8
	VPMOVZXWD   0(SI), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y0
	VPMOVZXWD   0(DI), Y10
	VPSLLD      $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y1
	VPMOVZXWD   0(BX), Y11
	VPSLLD      $16, Y11, Y11
	VFMADD231PS Y11, Y8, Y2
	VPMOVZXWD   0(R9), Y12
	VPSLLD      $16, Y12, Y12
	VFMADD231PS Y12, Y8, Y3
	VPMOVZXWD   0(R10), Y13
	VPSLLD      $16, Y13, Y13
	VFMADD231PS Y13, Y8, Y4
	VPMOVZXWD   0(R12), Y14
	VPSLLD      $16, Y14, Y14
	VFMADD231PS Y14, Y8, Y5
	VPMOVZXWD   0(R13), Y15
	VPSLLD      $16, Y15, Y15
	VFMADD231PS Y15, Y8, Y6
	VPMOVZXWD   0(CX), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y7
	VMOVUPS     32(R8), Y8
	VPMOVZXWD   16(SI), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y0
	VPMOVZXWD   16(DI), Y10
	VPSLLD      $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y1
	VPMOVZXWD   16(BX), Y11
	VPSLLD      $16, Y11, Y11
	VFMADD231PS Y11, Y8, Y2
	VPMOVZXWD   16(R9), Y12
	VPSLLD      $16, Y12, Y12
	VFMADD231PS Y12, Y8, Y3
	VPMOVZXWD   16(R10), Y13
	VPSLLD      $16, Y13, Y13
	VFMADD231PS Y13, Y8, Y4
	VPMOVZXWD   16(R12), Y14
	VPSLLD      $16, Y14, Y14
	VFMADD231PS Y14, Y8, Y5
	VPMOVZXWD   16(R13), Y15
	VPSLLD      $16, Y15, Y15
	VFMADD231PS Y15, Y8, Y6
	VPMOVZXWD   16(CX), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y7
	VMOVUPS     64(R8), Y8
	VPMOVZXWD   32(SI), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y0
	VPMOVZXWD   32(DI), Y10
	VPSLLD      $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y1
	VPMOVZXWD   32(BX), Y11
	VPSLLD      $16, Y11, Y11
	VFMADD231PS Y11, Y8, Y2
	VPMOVZXWD   32(R9), Y12
	VPSLLD      $16, Y12, Y12
	VFMADD231PS Y12, Y8, Y3
	VPMOVZXWD   32(R10), Y13
	VPSLLD      $16, Y13, Y13
	VFMADD231PS Y13, Y8, Y4
	VPMOVZXWD   32(R12), Y14
	VPSLLD      $16, Y14, Y14
	VFMADD231PS Y14, Y8, Y5
	VPMOVZXWD   32(R13), Y15
	VPSLLD      $16, Y15, Y15
	VFMADD231PS Y15, Y8, Y6
	VPMOVZXWD   32(CX), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y7
	VMOVUPS     96(R8), Y8
	VPMOVZXWD   48(SI), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y0
	VPMOVZXWD   48(DI), Y10
	VPSLLD      $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y1
	VPMOVZXWD   48(BX), Y11
	VPSLLD      $16, Y11, Y11
	VFMADD231PS Y11, Y8, Y2
	VPMOVZXWD   48(R9), Y12
	VPSLLD      $16, Y12, Y12
	VFMADD231PS Y12, Y8, Y3
	VPMOVZXWD   48(R10), Y13
	VPSLLD      $16, Y13, Y13
	VFMADD231PS Y13, Y8, Y4
	VPMOVZXWD   48(R12), Y14
	VPSLLD      $16, Y14, Y14
	VFMADD231PS Y14, Y8, Y5
	VPMOVZXWD   48(R13), Y15
	VPSLLD      $16, Y15, Y15
	VFMADD231PS Y15, Y8, Y6
	VPMOVZXWD   48(CX), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y7
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, BX
	ADDQ        $64, R9
	ADDQ        $64, R10
	ADDQ        $64, R12
	ADDQ        $64, R13
	ADDQ        $64, CX
	ADDQ        $128, R8
	SUBQ        $32, AX
	JMP         loop32

	// The blocks of eight left.
loop8:
	TESTQ AX, AX
	JZ    reduce
	VMOVUPS     0(R8), Y8
	VPMOVZXWD   0(SI), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y0
	VPMOVZXWD   0(DI), Y10
	VPSLLD      $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y1
	VPMOVZXWD   0(BX), Y11
	VPSLLD      $16, Y11, Y11
	VFMADD231PS Y11, Y8, Y2
	VPMOVZXWD   0(R9), Y12
	VPSLLD      $16, Y12, Y12
	VFMADD231PS Y12, Y8, Y3
	VPMOVZXWD   0(R10), Y13
	VPSLLD      $16, Y13, Y13
	VFMADD231PS Y13, Y8, Y4
	VPMOVZXWD   0(R12), Y14
	VPSLLD      $16, Y14, Y14
	VFMADD231PS Y14, Y8, Y5
	VPMOVZXWD   0(R13), Y15
	VPSLLD      $16, Y15, Y15
	VFMADD231PS Y15, Y8, Y6
	VPMOVZXWD   0(CX), Y9
	VPSLLD      $16, Y9, Y9
	VFMADD231PS Y9, Y8, Y7
	ADDQ        $16, SI
	ADDQ        $16, DI
	ADDQ        $16, BX
	ADDQ        $16, R9
	ADDQ        $16, R10
	ADDQ        $16, R12
	ADDQ        $16, R13
	ADDQ        $16, CX
	ADDQ        $32, R8
	SUBQ        $8, AX
	JMP         loop8

reduce:
	MOVQ out+0(FP), R11
	HSUM(Y0, X0, X12, 0(R11))
	HSUM(Y1, X1, X12, 4(R11))
	HSUM(Y2, X2, X12, 8(R11))
	HSUM(Y3, X3, X12, 12(R11))
	HSUM(Y4, X4, X12, 16(R11))
	HSUM(Y5, X5, X12, 20(R11))
	HSUM(Y6, X6, X12, 24(R11))
	HSUM(Y7, X7, X12, 28(R11))
	VZEROUPPER
	RET

// func kern1x4F16(out *[4]float32, x *float32, w0, w1, w2, w3 *uint16, cols int)
//
// kern1x4F32 with half-precision weight rows, converted exactly by
// VCVTPH2PS (F16C). cols must be a multiple of 8.
//
// Registers as in kern1x4BF16.
TEXT ·kern1x4F16(SB), NOSPLIT, $0-56
	MOVQ x+8(FP), R8
	MOVQ w0+16(FP), SI
	MOVQ w1+24(FP), DI
	MOVQ w2+32(FP), BX
	MOVQ w3+40(FP), R9
	MOVQ cols+48(FP), R11
	XORQ AX, AX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	CMPQ        AX, R11
	JAE         reduce
	VMOVUPS     (R8)(AX*4), Y4
	VCVTPH2PS   (SI)(AX*2), Y5
	VCVTPH2PS   (DI)(AX*2), Y6
	VCVTPH2PS   (BX)(AX*2), Y7
	VCVTPH2PS   (R9)(AX*2), Y8
	VFMADD231PS Y5, Y4, Y0
	VFMADD231PS Y6, Y4, Y1
	VFMADD231PS Y7, Y4, Y2
	VFMADD231PS Y8, Y4, Y3
	ADDQ        $8, AX
	JMP         loop

reduce:
	MOVQ out+0(FP), DX
	HSUM(Y0, X0, X12, 0(DX))
	HSUM(Y1, X1, X12, 4(DX))
	HSUM(Y2, X2, X12, 8(DX))
	HSUM(Y3, X3, X12, 12(DX))
	VZEROUPPER
	RET

// func kern1x8F32(out *[8]float32, x, w *float32, stride, cols, pfd int)
//
// kern1x4F32 for eight weight rows w + k*stride (k < 8, stride in
// elements), each summed in the canonical order with its own accumulator,
// masked tail step included: like kern1x8BF16, the kernel only loads more
// rows at once and prefetches, two 64-byte lines per row and step of 32
// columns, pfd bytes ahead of each row's loads.
//
// Registers: R8 = x; SI, DI, BX, R9, R10, R12, R13, CX = w0..w7, all
// advanced as the loop goes; AX = the whole columns left (cols rounded
// down to 8); R11 = cols%8, then out at the end; DX = pfd, then the mask
// table. Y0..Y7 = the accumulators; Y8 = x; Y9 = the mask; Y10 = a masked
// weight block.
TEXT ·kern1x8F32(SB), NOSPLIT, $0-48
	MOVQ x+8(FP), R8
	MOVQ w+16(FP), SI
	MOVQ stride+24(FP), R11
	SHLQ $2, R11
	LEAQ (SI)(R11*1), DI
	LEAQ (DI)(R11*1), BX
	LEAQ (BX)(R11*1), R9
	LEAQ (R9)(R11*1), R10
	LEAQ (R10)(R11*1), R12
	LEAQ (R12)(R11*1), R13
	LEAQ (R13)(R11*1), CX
	MOVQ cols+32(FP), AX
	MOVQ pfd+40(FP), DX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

	MOVQ AX, R11
	ANDQ $7, R11
	ANDQ $-8, AX

	// Steps of 32 columns: four blocks of eight, two lines of each row.
loop32:
	CMPQ AX, $32
	JB   loop8
	PREFETCHT0  (SI)(DX*1)
	PREFETCHT0  (DI)(DX*1)
	PREFETCHT0  (BX)(DX*1)
	PREFETCHT0  (R9)(DX*1)
	PREFETCHT0  (R10)(DX*1)
	PREFETCHT0  (R12)(DX*1)
	PREFETCHT0  (R13)(DX*1)
	PREFETCHT0  (CX)(DX*1)
	PREFETCHT0  64(SI)(DX*1)
	PREFETCHT0  64(DI)(DX*1)
	PREFETCHT0  64(BX)(DX*1)
	PREFETCHT0  64(R9)(DX*1)
	PREFETCHT0  64(R10)(DX*1)
	PREFETCHT0  64(R12)(DX*1)
	PREFETCHT0  64(R13)(DX*1)
	PREFETCHT0  64(CX)(DX*1)
	VMOVUPS     0(R8), Y8
	VFMADD231PS 0(SI), Y8, Y0
	VFMADD231PS 0(DI), Y8, Y1
	VFMADD231PS 0(BX), Y8, Y2
	VFMADD231PS 0(R9), Y8, Y3
	VFMADD231PS 0(R10), Y8, Y4
	VFMADD231PS 0(R12), Y8, Y5
	VFMADD231PS 0(R13), Y8, Y6
	VFMADD231PS 0(CX), Y8, Y7
	VMOVUPS     32(R8), Y8
	VFMADD231PS 32(SI), Y8, Y0
	VFMADD231PS 32(DI), Y8, Y1
	VFMADD231PS 32(BX), Y8, Y2
	VFMADD231PS 32(R9), Y8, Y3
	VFMADD231PS 32(R10), Y8, Y4
	VFMADD231PS 32(R12), Y8, Y5
	VFMADD231PS 32(R13), Y8, Y6
	VFMADD231PS 32(CX), Y8, Y7
	VMOVUPS     64(R8), Y8
	VFMADD231PS 64(SI), Y8, Y0
	VFMADD231PS 64(DI), Y8, Y1
	VFMADD231PS 64(BX), Y8, Y2
	VFMADD231PS 64(R9), Y8, Y3
	VFMADD231PS 64(R10), Y8, Y4
	VFMADD231PS 64(R12), Y8, Y5
	VFMADD231PS 64(R13), Y8, Y6
	VFMADD231PS 64(CX), Y8, Y7
	VMOVUPS     96(R8), Y8
	VFMADD231PS 96(SI), Y8, Y0
	VFMADD231PS 96(DI), Y8, Y1
	VFMADD231PS 96(BX), Y8, Y2
	VFMADD231PS 96(R9), Y8, Y3
	VFMADD231PS 96(R10), Y8, Y4
	VFMADD231PS 96(R12), Y8, Y5
	VFMADD231PS 96(R13), Y8, Y6
	VFMADD231PS 96(CX), Y8, Y7
	ADDQ        $128, SI
	ADDQ        $128, DI
	ADDQ        $128, BX
	ADDQ        $128, R9
	ADDQ        $128, R10
	ADDQ        $128, R12
	ADDQ        $128, R13
	ADDQ        $128, CX
	ADDQ        $128, R8
	SUBQ        $32, AX
	JMP         loop32

	// The blocks of eight left.
loop8:
	TESTQ AX, AX
	JZ    tail
	VMOVUPS     0(R8), Y8
	VFMADD231PS 0(SI), Y8, Y0
	VFMADD231PS 0(DI), Y8, Y1
	VFMADD231PS 0(BX), Y8, Y2
	VFMADD231PS 0(R9), Y8, Y3
	VFMADD231PS 0(R10), Y8, Y4
	VFMADD231PS 0(R12), Y8, Y5
	VFMADD231PS 0(R13), Y8, Y6
	VFMADD231PS 0(CX), Y8, Y7
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, BX
	ADDQ        $32, R9
	ADDQ        $32, R10
	ADDQ        $32, R12
	ADDQ        $32, R13
	ADDQ        $32, CX
	ADDQ        $32, R8
	SUBQ        $8, AX
	JMP         loop8

	// The last cols%8 columns, masked: the eight words at
	// tailMask<>+32-4t.
tail:
	TESTQ R11, R11
	JZ    reduce
	LEAQ  tailMask<>+32(SB), DX
	NEGQ  R11
	VMOVUPS (DX)(R11*4), Y9
	VMASKMOVPS (R8), Y9, Y8
	VMASKMOVPS (SI), Y9, Y10
	VFMADD231PS Y10, Y8, Y0
	VMASKMOVPS (DI), Y9, Y10
	VFMADD231PS Y10, Y8, Y1
	VMASKMOVPS (BX), Y9, Y10
	VFMADD231PS Y10, Y8, Y2
	VMASKMOVPS (R9), Y9, Y10
	VFMADD231PS Y10, Y8, Y3
	VMASKMOVPS (R10), Y9, Y10
	VFMADD231PS Y10, Y8, Y4
	VMASKMOVPS (R12), Y9, Y10
	VFMADD231PS Y10, Y8, Y5
	VMASKMOVPS (R13), Y9, Y10
	VFMADD231PS Y10, Y8, Y6
	VMASKMOVPS (CX), Y9, Y10
	VFMADD231PS Y10, Y8, Y7

reduce:
	MOVQ out+0(FP), R11
	HSUM(Y0, X0, X12, 0(R11))
	HSUM(Y1, X1, X12, 4(R11))
	HSUM(Y2, X2, X12, 8(R11))
	HSUM(Y3, X3, X12, 12(R11))
	HSUM(Y4, X4, X12, 16(R11))
	HSUM(Y5, X5, X12, 20(R11))
	HSUM(Y6, X6, X12, 24(R11))
	HSUM(Y7, X7, X12, 28(R11))
	VZEROUPPER
	RET

// func kern1x8F16(out *[8]float32, x *float32, w *uint16, stride, cols, pfd int)
//
// kern1x8BF16 for half-precision weight rows, converted exactly by
// VCVTPH2PS as in kern1x4F16. cols must be a multiple of 8.
//
// Registers as in kern1x8BF16; Y9..Y15 = converted weights.
TEXT ·kern1x8F16(SB), NOSPLIT, $0-48
	MOVQ x+8(FP), R8
	MOVQ w+16(FP), SI
	MOVQ stride+24(FP), R11
	SHLQ $1, R11
	LEAQ (SI)(R11*1), DI
	LEAQ (DI)(R11*1), BX
	LEAQ (BX)(R11*1), R9
	LEAQ (R9)(R11*1), R10
	LEAQ (R10)(R11*1), R12
	LEAQ (R12)(R11*1), R13
	LEAQ (R13)(R11*1), CX
	MOVQ cols+32(FP), AX
	MOVQ pfd+40(FP), DX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

	// Steps of 32 columns: four blocks of eight, one line of each row.
loop32:
	CMPQ AX, $32
	JB   loop8
	PREFETCHT0  (SI)(DX*1)
	PREFETCHT0  (DI)(DX*1)
	PREFETCHT0  (BX)(DX*1)
	PREFETCHT0  (R9)(DX*1)
	PREFETCHT0  (R10)(DX*1)
	PREFETCHT0  (R12)(DX*1)
	PREFETCHT0  (R13)(DX*1)
	PREFETCHT0  (CX)(DX*1)
	VMOVUPS     0(R8), Y8
	VCVTPH2PS   0(SI), Y9
	VFMADD231PS Y9, Y8, Y0
	VCVTPH2PS   0(DI), Y10
	VFMADD231PS Y10, Y8, Y1
	VCVTPH2PS   0(BX), Y11
	VFMADD231PS Y11, Y8, Y2
	VCVTPH2PS   0(R9), Y12
	VFMADD231PS Y12, Y8, Y3
	VCVTPH2PS   0(R10), Y13
	VFMADD231PS Y13, Y8, Y4
	VCVTPH2PS   0(R12), Y14
	VFMADD231PS Y14, Y8, Y5
	VCVTPH2PS   0(R13), Y15
	VFMADD231PS Y15, Y8, Y6
	VCVTPH2PS   0(CX), Y9
	VFMADD231PS Y9, Y8, Y7
	VMOVUPS     32(R8), Y8
	VCVTPH2PS   16(SI), Y9
	VFMADD231PS Y9, Y8, Y0
	VCVTPH2PS   16(DI), Y10
	VFMADD231PS Y10, Y8, Y1
	VCVTPH2PS   16(BX), Y11
	VFMADD231PS Y11, Y8, Y2
	VCVTPH2PS   16(R9), Y12
	VFMADD231PS Y12, Y8, Y3
	VCVTPH2PS   16(R10), Y13
	VFMADD231PS Y13, Y8, Y4
	VCVTPH2PS   16(R12), Y14
	VFMADD231PS Y14, Y8, Y5
	VCVTPH2PS   16(R13), Y15
	VFMADD231PS Y15, Y8, Y6
	VCVTPH2PS   16(CX), Y9
	VFMADD231PS Y9, Y8, Y7
	VMOVUPS     64(R8), Y8
	VCVTPH2PS   32(SI), Y9
	VFMADD231PS Y9, Y8, Y0
	VCVTPH2PS   32(DI), Y10
	VFMADD231PS Y10, Y8, Y1
	VCVTPH2PS   32(BX), Y11
	VFMADD231PS Y11, Y8, Y2
	VCVTPH2PS   32(R9), Y12
	VFMADD231PS Y12, Y8, Y3
	VCVTPH2PS   32(R10), Y13
	VFMADD231PS Y13, Y8, Y4
	VCVTPH2PS   32(R12), Y14
	VFMADD231PS Y14, Y8, Y5
	VCVTPH2PS   32(R13), Y15
	VFMADD231PS Y15, Y8, Y6
	VCVTPH2PS   32(CX), Y9
	VFMADD231PS Y9, Y8, Y7
	VMOVUPS     96(R8), Y8
	VCVTPH2PS   48(SI), Y9
	VFMADD231PS Y9, Y8, Y0
	VCVTPH2PS   48(DI), Y10
	VFMADD231PS Y10, Y8, Y1
	VCVTPH2PS   48(BX), Y11
	VFMADD231PS Y11, Y8, Y2
	VCVTPH2PS   48(R9), Y12
	VFMADD231PS Y12, Y8, Y3
	VCVTPH2PS   48(R10), Y13
	VFMADD231PS Y13, Y8, Y4
	VCVTPH2PS   48(R12), Y14
	VFMADD231PS Y14, Y8, Y5
	VCVTPH2PS   48(R13), Y15
	VFMADD231PS Y15, Y8, Y6
	VCVTPH2PS   48(CX), Y9
	VFMADD231PS Y9, Y8, Y7
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, BX
	ADDQ        $64, R9
	ADDQ        $64, R10
	ADDQ        $64, R12
	ADDQ        $64, R13
	ADDQ        $64, CX
	ADDQ        $128, R8
	SUBQ        $32, AX
	JMP         loop32

	// The blocks of eight left.
loop8:
	TESTQ AX, AX
	JZ    reduce
	VMOVUPS     0(R8), Y8
	VCVTPH2PS   0(SI), Y9
	VFMADD231PS Y9, Y8, Y0
	VCVTPH2PS   0(DI), Y10
	VFMADD231PS Y10, Y8, Y1
	VCVTPH2PS   0(BX), Y11
	VFMADD231PS Y11, Y8, Y2
	VCVTPH2PS   0(R9), Y12
	VFMADD231PS Y12, Y8, Y3
	VCVTPH2PS   0(R10), Y13
	VFMADD231PS Y13, Y8, Y4
	VCVTPH2PS   0(R12), Y14
	VFMADD231PS Y14, Y8, Y5
	VCVTPH2PS   0(R13), Y15
	VFMADD231PS Y15, Y8, Y6
	VCVTPH2PS   0(CX), Y9
	VFMADD231PS Y9, Y8, Y7
	ADDQ        $16, SI
	ADDQ        $16, DI
	ADDQ        $16, BX
	ADDQ        $16, R9
	ADDQ        $16, R10
	ADDQ        $16, R12
	ADDQ        $16, R13
	ADDQ        $16, CX
	ADDQ        $32, R8
	SUBQ        $8, AX
	JMP         loop8

reduce:
	MOVQ out+0(FP), R11
	HSUM(Y0, X0, X12, 0(R11))
	HSUM(Y1, X1, X12, 4(R11))
	HSUM(Y2, X2, X12, 8(R11))
	HSUM(Y3, X3, X12, 12(R11))
	HSUM(Y4, X4, X12, 16(R11))
	HSUM(Y5, X5, X12, 20(R11))
	HSUM(Y6, X6, X12, 24(R11))
	HSUM(Y7, X7, X12, 28(R11))
	VZEROUPPER
	RET

// func decodeBF16AVX2(dst *float32, src *uint16, n int)
//
// dst[i] = float32 of the bfloat16 src[i] for i < n, n a multiple of 8.
// Registers: DI = dst; SI = src; CX = n; AX = i; Y0, Y1 = the values.
TEXT ·decodeBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX

loop16:
	LEAQ      16(AX), DX
	CMPQ      DX, CX
	JA        loop8
	VPMOVZXWD (SI)(AX*2), Y0
	VPMOVZXWD 16(SI)(AX*2), Y1
	VPSLLD    $16, Y0, Y0
	VPSLLD    $16, Y1, Y1
	VMOVUPS   Y0, (DI)(AX*4)
	VMOVUPS   Y1, 32(DI)(AX*4)
	MOVQ      DX, AX
	JMP       loop16

loop8:
	CMPQ      AX, CX
	JAE       done
	VPMOVZXWD (SI)(AX*2), Y0
	VPSLLD    $16, Y0, Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	JMP       loop8

done:
	VZEROUPPER
	RET

// func decodeF16AVX2(dst *float32, src *uint16, n int)
//
// dst[i] = float32 of the half src[i] for i < n, n a multiple of 8.
// Registers as in decodeBF16AVX2.
TEXT ·decodeF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX

loop16:
	LEAQ      16(AX), DX
	CMPQ      DX, CX
	JA        loop8
	VCVTPH2PS (SI)(AX*2), Y0
	VCVTPH2PS 16(SI)(AX*2), Y1
	VMOVUPS   Y0, (DI)(AX*4)
	VMOVUPS   Y1, 32(DI)(AX*4)
	MOVQ      DX, AX
	JMP       loop16

loop8:
	CMPQ      AX, CX
	JAE       done
	VCVTPH2PS (SI)(AX*2), Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	JMP       loop8

done:
	VZEROUPPER
	RET

// func dotAVX2(x, y *float32, n int) float32
//
// Returns x . y over n elements: four 8-lane accumulators over blocks of
// 32, then blocks of 8 into the first, then the masked tail into the
// second; (Y0+Y1)+(Y2+Y3) is reduced by HSUM.
//
// Registers: SI = x; DI = y; CX = n; R11 = n rounded down to 8; AX = i;
// DX = i+32. Y0..Y3 = the accumulators; Y4..Y7 = x blocks; Y6 = the mask
// in the tail.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ CX, R11
	ANDQ $-8, R11
	XORQ AX, AX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	LEAQ        32(AX), DX
	CMPQ        DX, CX
	JA          loop8
	VMOVUPS     (SI)(AX*4), Y4
	VMOVUPS     32(SI)(AX*4), Y5
	VMOVUPS     64(SI)(AX*4), Y6
	VMOVUPS     96(SI)(AX*4), Y7
	VFMADD231PS (DI)(AX*4), Y4, Y0
	VFMADD231PS 32(DI)(AX*4), Y5, Y1
	VFMADD231PS 64(DI)(AX*4), Y6, Y2
	VFMADD231PS 96(DI)(AX*4), Y7, Y3
	MOVQ        DX, AX
	JMP         loop32

loop8:
	CMPQ        AX, R11
	JAE         tail
	VMOVUPS     (SI)(AX*4), Y4
	VFMADD231PS (DI)(AX*4), Y4, Y0
	ADDQ        $8, AX
	JMP         loop8

tail:
	CMPQ        R11, CX
	JEQ         reduce
	TAILMASK(Y6)
	VMASKMOVPS  (SI)(AX*4), Y6, Y4
	VMASKMOVPS  (DI)(AX*4), Y6, Y5
	VFMADD231PS Y5, Y4, Y1

reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X12, ret+24(FP))
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
//
// y[i] += alpha*x[i] for i < n, n a multiple of 8, with the product
// rounded before the add (VMULPS then VADDPS, no FMA), as the Go loop does.
//
// Registers: SI = x; DI = y; CX = n; AX = i; Y0 = alpha in every lane;
// Y1, Y2 = products and sums.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	XORQ         AX, AX

loop16:
	LEAQ    16(AX), DX
	CMPQ    DX, CX
	JA      loop8
	VMULPS  (SI)(AX*4), Y0, Y1
	VMULPS  32(SI)(AX*4), Y0, Y2
	VADDPS  (DI)(AX*4), Y1, Y1
	VADDPS  32(DI)(AX*4), Y2, Y2
	VMOVUPS Y1, (DI)(AX*4)
	VMOVUPS Y2, 32(DI)(AX*4)
	MOVQ    DX, AX
	JMP     loop16

loop8:
	CMPQ    AX, CX
	JAE     done
	VMULPS  (SI)(AX*4), Y0, Y1
	VADDPS  (DI)(AX*4), Y1, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     loop8

done:
	VZEROUPPER
	RET
