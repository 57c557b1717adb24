package kernels

import (
	"math"
	"sync"
)

// This file holds the portable micro-kernels behind MatMul and Dot. They
// are plain Go; the compiler does not vectorise them, so their speed comes
// from independent accumulators (the float adds of different products
// overlap in the pipeline) and from loading each value once for several
// products. They form the implementation pureGo (impl.go), the reference
// and fallback for the assembly kernels of kernel_amd64.s. The tests
// compare every implementation with plain float64 loops.
//
// Shapes were chosen by measurement (Go 1.26, GOAMD64=v1, an AMD EPYC): with
// more than about six float32 accumulators the register allocator spills
// to the stack and the kernel gets slower, so every kernel here keeps four
// to six.
//
// The callers guarantee the lengths: every w slice is at least len(x)
// long. Reslicing to len(x) lets the compiler drop the bounds checks from
// the loops.

// dot returns sum_c x[c]*y[c] using four accumulators.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	c := 0
	for ; c <= len(x)-4; c += 4 {
		xs, ys := x[c:c+4:c+4], y[c:c+4:c+4]
		s0 += xs[0] * ys[0]
		s1 += xs[1] * ys[1]
		s2 += xs[2] * ys[2]
		s3 += xs[3] * ys[3]
	}
	for ; c < len(x); c++ {
		s0 += x[c] * y[c]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy sets y[i] += alpha * x[i], len(y) >= len(x).
func axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// dotSeq returns sum_c x[c]*y[c] with one accumulator, adding the
// products in order of c. It is the summation order of every MatMul
// micro-kernel (dot4, dot2x3, dot4Table): whatever the number of positions
// and wherever a row falls in a tile, MatMul gives a row the same bits, so a
// prompt evaluated in chunks matches one evaluated at once exactly.
func dotSeq(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for c, xc := range x {
		s += xc * y[c]
	}
	return s
}

// dotSeqTable is dotSeq with 16-bit weights w decoded through tab.
func dotSeqTable(x []float32, w []uint16, tab *[1 << 16]float32) float32 {
	w = w[:len(x)]
	var s float32
	for c, xc := range x {
		s += xc * tab[w[c]]
	}
	return s
}

// dot4 returns the dot products of x with w0, w1, w2 and w3, loading each
// x[c] once for four products.
func dot4(x, w0, w1, w2, w3 []float32) (d0, d1, d2, d3 float32) {
	w0, w1, w2, w3 = w0[:len(x)], w1[:len(x)], w2[:len(x)], w3[:len(x)]
	for c, xc := range x {
		d0 += xc * w0[c]
		d1 += xc * w1[c]
		d2 += xc * w2[c]
		d3 += xc * w3[c]
	}
	return d0, d1, d2, d3
}

// dot2x3 returns the six dot products of xa and xb with w0, w1 and w2:
// five loads feed six multiply-adds.
func dot2x3(xa, xb, w0, w1, w2 []float32) (a0, a1, a2, b0, b1, b2 float32) {
	xb = xb[:len(xa)]
	w0, w1, w2 = w0[:len(xa)], w1[:len(xa)], w2[:len(xa)]
	for c, xac := range xa {
		xbc := xb[c]
		v0, v1, v2 := w0[c], w1[c], w2[c]
		a0 += xac * v0
		a1 += xac * v1
		a2 += xac * v2
		b0 += xbc * v0
		b1 += xbc * v1
		b2 += xbc * v2
	}
	return a0, a1, a2, b0, b1, b2
}

// dot4Table is dot4 with 16-bit weight rows (bfloat16 or half) decoded
// inline through tab, the float32 values of all 65536 bit patterns. A
// table load measured 1.7 times faster than decoding bfloat16 with a
// shift, which needs a move from an integer to a float register per weight,
// and beats the branches of F16ToF32 too. Weights cluster in a few
// exponents, so the part of the table in use stays in L1.
func dot4Table(x []float32, w0, w1, w2, w3 []uint16, tab *[1 << 16]float32) (d0, d1, d2, d3 float32) {
	w0, w1, w2, w3 = w0[:len(x)], w1[:len(x)], w2[:len(x)], w3[:len(x)]
	for c, xc := range x {
		d0 += xc * tab[w0[c]]
		d1 += xc * tab[w1[c]]
		d2 += xc * tab[w2[c]]
		d3 += xc * tab[w3[c]]
	}
	return d0, d1, d2, d3
}

// bf16Table and f16Table return the float32 values of all bfloat16 and
// half bit patterns, indexed by the bits. Each 256 KiB table is built on
// first use.
var (
	bf16Table = sync.OnceValue(func() *[1 << 16]float32 { return newTable(BF16ToF32) })
	f16Table  = sync.OnceValue(func() *[1 << 16]float32 { return newTable(F16ToF32) })
)

func newTable(decode func(uint16) float32) *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for h := range t {
		t[h] = decode(uint16(h))
	}
	return t
}

// decodeBF16 writes the float32 values of src to dst.
func decodeBF16(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

// decodeF16 writes the float32 values of the halves in src to dst.
func decodeF16(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = F16ToF32(h)
	}
}
