//go:build amd64 && !purego && !noasm

package kernels

import (
	"math"
	"testing"
)

// TestKern1x8 checks that the eight-row n == 1 kernels give every row the
// bits of kern1x4, the same canonical order, for lengths with and without
// a tail and row strides that spread the rows apart.
func TestKern1x8(t *testing.T) {
	if len(asmImplementations()) == 0 {
		t.Skip("no AVX2")
	}
	r := newRand(11)
	for _, cols := range []int{1, 7, 8, 9, 16, 24, 31, 32, 33, 40, 64, 72, 130, 896, 897} {
		for _, q := range []int{1, 3} {
			rows := 8 * q
			x := randSlice(r, cols)
			wf := randSlice(r, rows*cols)
			wh := make([]uint16, rows*cols)
			wb := make([]uint16, rows*cols)
			for i, v := range wf {
				wh[i] = uint16(r.Uint32())
				if wh[i]&0x7c00 == 0x7c00 { // keep the halves finite
					wh[i] &^= 0x4000
				}
				wb[i] = uint16(math.Float32bits(v) >> 16)
			}
			for i := range q {
				var got [8]float32
				var want [4]float32
				check := func(name string, s int) {
					if math.Float32bits(got[s]) != math.Float32bits(want[0]) {
						t.Fatalf("%s cols=%d q=%d row %d: %g, kern1x4 gives %g",
							name, cols, q, i+s*q, got[s], want[0])
					}
				}
				kern1x8F32(&got, &x[0], &wf[i*cols], q*cols, cols, prefetchBytes)
				for s := range 8 {
					p := &wf[(i+s*q)*cols]
					kern1x4F32(&want, &x[0], p, p, p, p, cols)
					check("F32", s)
				}
				if cols%8 != 0 {
					continue
				}
				kern1x8F16(&got, &x[0], &wh[i*cols], q*cols, cols, prefetchBytes)
				for s := range 8 {
					p := &wh[(i+s*q)*cols]
					kern1x4F16(&want, &x[0], p, p, p, p, cols)
					check("F16", s)
				}
				kern1x8BF16(&got, &x[0], &wb[i*cols], q*cols, cols, prefetchBytes)
				for s := range 8 {
					p := &wb[(i+s*q)*cols]
					kern1x4BF16(&want, &x[0], p, p, p, p, cols)
					check("BF16", s)
				}
			}
		}
	}
}
