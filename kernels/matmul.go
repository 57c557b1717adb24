package kernels

import "strconv"

// Mat is a weight matrix of shape [Rows, Cols] in row-major order, used in
// place: the slices may point into a memory-mapped file and are never
// copied or modified. Exactly one of F32 and U16 is used, according to
// DType.
type Mat struct {
	DType      DType
	Rows, Cols int
	F32        []float32 // DType == F32: the elements, len Rows*Cols
	U16        []uint16  // DType == BF16 or F16: the raw bits, len Rows*Cols
}

// check panics unless m's slice matches its dtype and shape.
func (m Mat) check() {
	if m.Rows < 0 || m.Cols < 0 {
		panic("kernels: negative Mat shape")
	}
	var have int
	switch m.DType {
	case F32:
		have = len(m.F32)
	case BF16, F16:
		have = len(m.U16)
	default:
		panic("kernels: unknown dtype " + strconv.Itoa(int(m.DType)))
	}
	if have != m.Rows*m.Cols {
		panic("kernels: Mat " + m.DType.String() + " [" + strconv.Itoa(m.Rows) + ", " +
			strconv.Itoa(m.Cols) + "] holds " + strconv.Itoa(have) + " elements")
	}
}

// Row decodes row r of m to float32 into dst. It panics if r is out of
// range, if len(dst) != m.Cols or if m is malformed.
func (m Mat) Row(r int, dst []float32) {
	m.check()
	if r < 0 || r >= m.Rows {
		panic("kernels: Mat.Row " + strconv.Itoa(r) + " out of range [0, " +
			strconv.Itoa(m.Rows) + ")")
	}
	if len(dst) != m.Cols {
		panic("kernels: Mat.Row dst has length " + strconv.Itoa(len(dst)) +
			", want " + strconv.Itoa(m.Cols))
	}
	m.decodeRows(impl, dst, r, r+1)
}

// decodeRows writes rows [r0, r1) of m as float32 to dst,
// len(dst) == (r1-r0)*m.Cols, with the decoders of im.
func (m Mat) decodeRows(im *implementation, dst []float32, r0, r1 int) {
	lo, hi := r0*m.Cols, r1*m.Cols
	switch m.DType {
	case F32:
		copy(dst, m.F32[lo:hi])
	case BF16:
		im.decodeBF16(dst, m.U16[lo:hi])
	case F16:
		im.decodeF16(dst, m.U16[lo:hi])
	}
}

// matMulArgs are the operands of one MatMul call, shared by its chunks.
type matMulArgs struct {
	out, x []float32
	n      int
	w      Mat
	tile   int             // weight rows decoded to float32 at a time when n > 1
	im     *implementation // the micro-kernels, fixed for the whole call
}

// tileFloats is the largest size in float32 values of the block of weight
// rows that MatMul decodes and reuses for all n positions: 256 KiB, which
// stays in a core's L2 cache (1 MiB on the machine it was tuned on) while
// the positions stream past it.
const tileFloats = 64 << 10

// MatMul computes out = x @ w^T, the torch Linear product without bias:
//
//	out[i, r] = sum_c x[i, c] * w[r, c]
//
// with out [n, w.Rows] and x [n, w.Cols]. Products are summed in float32.
// The rows of w are split over Threads() goroutines. For n > 1, each
// goroutine decodes a tile of weight rows to float32 once and multiplies
// every position by it. For n == 1, 16-bit weights are decoded inline (in
// registers by the AVX2 kernels, through a table of all 65536 values by the
// portable ones). MatMul allocates nothing in steady state.
//
// Each output element is summed in the one order of the implementation in
// use (see Implementation), whatever n, the position's place in x or the
// number of threads, so a prompt evaluated in chunks gets the same bits as
// one evaluated at once.
//
// out must not overlap x. MatMul panics if n < 0, if len(x) != n*w.Cols,
// if len(out) != n*w.Rows or if w's slice does not match its shape.
func MatMul(out, x []float32, n int, w Mat) {
	w.check()
	if n < 0 || len(x) != n*w.Cols || len(out) != n*w.Rows {
		panic("kernels: MatMul shape mismatch: out " + strconv.Itoa(len(out)) +
			", x " + strconv.Itoa(len(x)) + ", n " + strconv.Itoa(n) +
			", w [" + strconv.Itoa(w.Rows) + ", " + strconv.Itoa(w.Cols) + "]")
	}
	if n == 0 || w.Rows == 0 {
		return
	}

	t := Threads()
	tile := 4 // for n == 1: the rows of one dot4 or kern1x4
	if n > 1 {
		// A multiple of three rows, the width of dot2x3 and kern4x3.
		tile = max(3, min(60, tileFloats/max(w.Cols, 1))/3*3)
	}
	// Aim at about four chunks per goroutine, each a whole number of tiles.
	step := (w.Rows + 4*t - 1) / (4 * t)
	step = (step + tile - 1) / tile * tile

	j := getJob()
	j.body = matMulChunk
	j.mm = matMulArgs{out: out, x: x, n: n, w: w, tile: tile, im: impl}
	run(j, j.start(w.Rows, step), t)
}

// matMulChunk computes the output columns [lo, hi) of a MatMul: the
// products with weight rows lo to hi-1.
func matMulChunk(j *job, lo, hi int, s *scratch) {
	a := &j.mm
	if a.n == 1 {
		a.im.matVec(a.out, a.x, a.w, lo, hi, s)
		return
	}
	cols := a.w.Cols
	for r0 := lo; r0 < hi; r0 += a.tile {
		r1 := min(r0+a.tile, hi)
		var wt []float32
		if a.w.DType == F32 {
			wt = a.w.F32[r0*cols : r1*cols]
		} else {
			wt = s.floats((r1 - r0) * cols)
			a.w.decodeRows(a.im, wt, r0, r1)
		}
		a.im.gemmTile(a.out, a.x, a.n, a.w.Rows, cols, wt, r0, r1-r0)
	}
}

// matVecGo computes out[r] = w[r, :] . x for r in [lo, hi): MatMul with
// n == 1 in the portable implementation.
func matVecGo(out, x []float32, w Mat, lo, hi int, _ *scratch) {
	cols := w.Cols
	r := lo
	switch w.DType {
	case F32:
		m := w.F32
		for ; r+4 <= hi; r += 4 {
			o := r * cols
			out[r], out[r+1], out[r+2], out[r+3] = dot4(x,
				m[o:o+cols], m[o+cols:o+2*cols], m[o+2*cols:o+3*cols], m[o+3*cols:o+4*cols])
		}
		for ; r < hi; r++ {
			out[r] = dotSeq(x, m[r*cols:(r+1)*cols])
		}
	case BF16, F16:
		m, tab := w.U16, bf16Table()
		if w.DType == F16 {
			tab = f16Table()
		}
		for ; r+4 <= hi; r += 4 {
			o := r * cols
			out[r], out[r+1], out[r+2], out[r+3] = dot4Table(x,
				m[o:o+cols], m[o+cols:o+2*cols], m[o+2*cols:o+3*cols], m[o+3*cols:o+4*cols], tab)
		}
		for ; r < hi; r++ {
			out[r] = dotSeqTable(x, m[r*cols:(r+1)*cols], tab)
		}
	}
}

// gemmTileGo computes out[i, r0+k] = x[i, :] . wt[k, :] for i < n and
// k < rows, where wt holds rows weight rows of length cols as float32 and
// out has rowsOut columns, in the portable implementation. Positions go two
// at a time and weight rows three at a time through dot2x3.
func gemmTileGo(out, x []float32, n, rowsOut, cols int, wt []float32, r0, rows int) {
	wrow := func(k int) []float32 { return wt[k*cols : (k+1)*cols] }
	xrow := func(i int) []float32 { return x[i*cols : (i+1)*cols] }
	orow := func(i int) []float32 { return out[i*rowsOut+r0 : i*rowsOut+r0+rows] }
	i := 0
	for ; i+2 <= n; i += 2 {
		xa, xb := xrow(i), xrow(i+1)
		oa, ob := orow(i), orow(i+1)
		k := 0
		for ; k+3 <= rows; k += 3 {
			oa[k], oa[k+1], oa[k+2], ob[k], ob[k+1], ob[k+2] =
				dot2x3(xa, xb, wrow(k), wrow(k+1), wrow(k+2))
		}
		for ; k < rows; k++ {
			oa[k], ob[k] = dotSeq(xa, wrow(k)), dotSeq(xb, wrow(k))
		}
	}
	if i < n {
		xa, oa := xrow(i), orow(i)
		k := 0
		for ; k+4 <= rows; k += 4 {
			oa[k], oa[k+1], oa[k+2], oa[k+3] = dot4(xa, wrow(k), wrow(k+1), wrow(k+2), wrow(k+3))
		}
		for ; k < rows; k++ {
			oa[k] = dotSeq(xa, wrow(k))
		}
	}
}
