//go:build amd64 && !purego && !noasm

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// This file holds the Go side of the AVX2 + FMA micro-kernels in
// kernel_amd64.s: their declarations and the loops that drive them. The
// assembly takes raw pointers, so every wrapper here slices its operands
// first; a bad length panics in Go, never reads out of bounds in assembly.
//
// The canonical order of this implementation (see kernel_amd64.s): eight
// float32 lanes accumulated with FMA over blocks of eight, a masked last
// block for the cols%8 tail, then a fixed reduction of the lanes. Every
// path below goes through kernels that follow it, and a block narrower
// than a kernel repeats one of its rows or positions rather than using
// another kernel, so one output element gets the same bits on every path.

// avx2 is the implementation built on the kernels of kernel_amd64.s.
var avx2 = &implementation{
	name:       "avx2",
	matVec:     matVecAVX2,
	gemmTile:   gemmTileAVX2,
	decodeBF16: decodeBF16Fast,
	decodeF16:  decodeF16Fast,
	dot:        dotFast,
	axpy:       axpyFast,
}

// asmImplementations returns avx2 if the CPU (and the OS, which must save
// the YMM registers) supports AVX2, FMA and F16C.
func asmImplementations() []*implementation {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C {
		return []*implementation{avx2}
	}
	return nil
}

// The kernels. cols is the length of every x and w row; the BF16 and F16
// kernels need cols%8 == 0. out receives x_p . w_k at index 3p+k (kern4x3)
// or k (kern1x4).

//go:noescape
func kern4x3F32(out *[12]float32, x0, x1, x2, x3, w0, w1, w2 *float32, cols int)

//go:noescape
func kern1x4F32(out *[4]float32, x, w0, w1, w2, w3 *float32, cols int)

//go:noescape
func kern1x4BF16(out *[4]float32, x *float32, w0, w1, w2, w3 *uint16, cols int)

// kern1x8BF16 sets out[k] = x . w_k for the eight bfloat16 rows
// w_k = w + k*stride (stride in elements), cols%8 == 0, prefetching each
// row pfd bytes ahead of its loads.
//
//go:noescape
func kern1x8BF16(out *[8]float32, x *float32, w *uint16, stride, cols, pfd int)

//go:noescape
func kern1x4F16(out *[4]float32, x *float32, w0, w1, w2, w3 *uint16, cols int)

// kern1x8F32 and kern1x8F16 are kern1x8BF16 for float32 rows (any cols,
// with the masked tail step) and for half-precision rows (cols%8 == 0).
//
//go:noescape
func kern1x8F32(out *[8]float32, x, w *float32, stride, cols, pfd int)

//go:noescape
func kern1x8F16(out *[8]float32, x *float32, w *uint16, stride, cols, pfd int)

// decodeBF16AVX2 and decodeF16AVX2 decode n 16-bit values from src to dst,
// n%8 == 0.
//
//go:noescape
func decodeBF16AVX2(dst *float32, src *uint16, n int)

//go:noescape
func decodeF16AVX2(dst *float32, src *uint16, n int)

// dotAVX2 returns the dot product of the n elements at x and y.
//
//go:noescape
func dotAVX2(x, y *float32, n int) float32

// axpyAVX2 sets y[i] += alpha*x[i] for i < n, n%8 == 0.
//
//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

// prefetchBytes is how far ahead of its loads kern1x8 prefetches each
// weight row: 512 bytes measured best for decoding (256 to 1024 tried for
// bfloat16; 1024 was no better for float32).
const prefetchBytes = 512

// matVecAVX2 computes out[r] = w[r, :] . x for r in [lo, hi).
//
// Float32 weights, and 16-bit weights with cols%8 == 0, go eight rows at a
// time through kern1x8F32, kern1x8BF16 or kern1x8F16, and the rows of one
// call are spread evenly over the range: with q = (hi-lo)/8, call i takes
// rows lo+i+s*q for s < 8. So each of its eight row pointers walks one
// long contiguous stretch of memory, which the hardware prefetchers follow
// at full memory bandwidth; eight adjacent rows (1792 bytes each for 896
// bfloat16 columns) would start eight short streams every call, which they
// never catch up with, and decoding ran at about half the bandwidth (the
// four adjacent rows of kern1x4 cost float32 and half weights the same).
// Only the grouping of rows differs: each row still gets the canonical
// order, so the same bits.
//
// The (hi-lo)%8 rows left, and all other cases, go four rows at a time
// through kern1x4. The last block repeats its last row when fewer than
// four are left. 16-bit weights are decoded in registers when
// cols%8 == 0 and otherwise into s first, since their kernels have no
// tail step; decoding is exact, so the two give the same bits.
func matVecAVX2(out, x []float32, w Mat, lo, hi int, s *scratch) {
	cols := w.Cols
	if cols == 0 {
		clear(out[lo:hi])
		return
	}
	x = x[:cols]
	if q := (hi - lo) / 8; q > 0 && (w.DType == F32 || cols%8 == 0) {
		var res8 [8]float32
		o := out[lo : lo+8*q]
		for i := range q {
			switch w.DType {
			case F32:
				m := w.F32[lo*cols : (lo+8*q)*cols]
				kern1x8F32(&res8, &x[0], &m[i*cols], q*cols, cols, prefetchBytes)
			case BF16:
				m := w.U16[lo*cols : (lo+8*q)*cols]
				kern1x8BF16(&res8, &x[0], &m[i*cols], q*cols, cols, prefetchBytes)
			default:
				m := w.U16[lo*cols : (lo+8*q)*cols]
				kern1x8F16(&res8, &x[0], &m[i*cols], q*cols, cols, prefetchBytes)
			}
			for s, v := range res8 {
				o[i+s*q] = v
			}
		}
		lo += 8 * q
	}
	var res [4]float32
	for r := lo; r < hi; r += 4 {
		k := min(4, hi-r)
		// The element offsets of the block's rows from row r; slicing the
		// weights to end at row r+k bounds every row of the block.
		o0, o1, o2, o3 := 0, min(1, k-1)*cols, min(2, k-1)*cols, (k-1)*cols
		switch {
		case w.DType == F32:
			m := w.F32[r*cols : (r+k)*cols]
			kern1x4F32(&res, &x[0], &m[o0], &m[o1], &m[o2], &m[o3], cols)
		case cols%8 == 0 && w.DType == BF16:
			m := w.U16[r*cols : (r+k)*cols]
			kern1x4BF16(&res, &x[0], &m[o0], &m[o1], &m[o2], &m[o3], cols)
		case cols%8 == 0:
			m := w.U16[r*cols : (r+k)*cols]
			kern1x4F16(&res, &x[0], &m[o0], &m[o1], &m[o2], &m[o3], cols)
		default:
			m := s.floats(k * cols)
			if w.DType == BF16 {
				decodeBF16Fast(m, w.U16[r*cols:(r+k)*cols])
			} else {
				decodeF16Fast(m, w.U16[r*cols:(r+k)*cols])
			}
			kern1x4F32(&res, &x[0], &m[o0], &m[o1], &m[o2], &m[o3], cols)
		}
		copy(out[r:r+k], res[:k])
	}
}

// gemmTileAVX2 computes out[i, r0+k] = x[i, :] . wt[k, :] for i < n and
// k < rows, where wt holds rows weight rows of length cols as float32 and
// out has rowsOut columns. Blocks of four positions and three weight rows
// go through kern4x3, a narrower block repeating its last position or row.
// A single position left over goes through kern1x4 instead, which wastes
// less work on repeats.
func gemmTileAVX2(out, x []float32, n, rowsOut, cols int, wt []float32, r0, rows int) {
	if cols == 0 {
		for i := range n {
			clear(out[i*rowsOut+r0 : i*rowsOut+r0+rows])
		}
		return
	}
	x, wt = x[:n*cols], wt[:rows*cols]
	xrow := func(i int) *float32 { return &x[i*cols] }
	wrow := func(k int) *float32 { return &wt[k*cols] }
	var res [12]float32
	i := 0
	for ; i+1 < n; i += 4 {
		np := min(4, n-i)
		x0, x1, x2, x3 := xrow(i), xrow(i+min(1, np-1)), xrow(i+min(2, np-1)), xrow(i+np-1)
		for k := 0; k < rows; k += 3 {
			nk := min(3, rows-k)
			kern4x3F32(&res, x0, x1, x2, x3, wrow(k), wrow(k+min(1, nk-1)), wrow(k+nk-1), cols)
			for p := range np {
				o := out[(i+p)*rowsOut+r0+k:]
				copy(o[:nk], res[3*p:3*p+nk])
			}
		}
	}
	if i < n {
		var res [4]float32
		xa, o := xrow(i), out[i*rowsOut+r0:i*rowsOut+r0+rows]
		for k := 0; k < rows; k += 4 {
			nk := min(4, rows-k)
			kern1x4F32(&res, xa, wrow(k), wrow(k+min(1, nk-1)), wrow(k+min(2, nk-1)),
				wrow(k+nk-1), cols)
			copy(o[k:k+nk], res[:nk])
		}
	}
}

// decodeBF16Fast is decodeBF16 with the whole blocks of eight in assembly.
func decodeBF16Fast(dst []float32, src []uint16) {
	src = src[:len(dst)]
	m := len(dst) &^ 7
	if m > 0 {
		decodeBF16AVX2(&dst[0], &src[0], m)
	}
	decodeBF16(dst[m:], src[m:])
}

// decodeF16Fast is decodeF16 with the whole blocks of eight in assembly.
func decodeF16Fast(dst []float32, src []uint16) {
	src = src[:len(dst)]
	m := len(dst) &^ 7
	if m > 0 {
		decodeF16AVX2(&dst[0], &src[0], m)
	}
	decodeF16(dst[m:], src[m:])
}

// dotFast returns x . y, len(y) >= len(x), summed by dotAVX2.
func dotFast(x, y []float32) float32 {
	y = y[:len(x)]
	return dotAVX2(unsafe.SliceData(x), unsafe.SliceData(y), len(x))
}

// axpyFast is axpy with the whole blocks of eight in assembly. Both parts
// round the product before the add, so every element gets the bits of the
// Go loop.
func axpyFast(alpha float32, x, y []float32) {
	y = y[:len(x)]
	m := len(x) &^ 7
	if m > 0 {
		axpyAVX2(alpha, &x[0], &y[0], m)
	}
	for i := m; i < len(x); i++ {
		y[i] += float32(alpha * x[i])
	}
}
