package kernels

// An implementation is one set of micro-kernels behind MatMul, Dot and Axpy.
// Each has its own canonical summation order for a dot product, which all
// of its MatMul paths follow (one position or many, whole tiles or
// remainders), so that within one implementation an output element has
// the same bits however the product is split. Different implementations
// agree only to float32 rounding.
type implementation struct {
	name string

	// matVec computes out[r] = w[r, :] . x for r in [lo, hi): MatMul with
	// n == 1.
	matVec func(out, x []float32, w Mat, lo, hi int, s *scratch)

	// gemmTile computes out[i, r0+k] = x[i, :] . wt[k, :] for i < n and
	// k < rows, where wt holds rows weight rows of length cols as float32
	// and out has rowsOut columns.
	gemmTile func(out, x []float32, n, rowsOut, cols int, wt []float32, r0, rows int)

	// decodeBF16 and decodeF16 write the float32 values of src to dst,
	// len(src) >= len(dst). Both decodings are exact.
	decodeBF16, decodeF16 func(dst []float32, src []uint16)

	dot  func(x, y []float32) float32        // Dot without the length check
	axpy func(alpha float32, x, y []float32) // Axpy without the length check
}

// pureGo is the portable implementation in kernel_generic.go and the
// reference for the others. Its canonical order is dotSeq: one float32
// accumulator, products added in order of c.
var pureGo = &implementation{
	name:       "go",
	matVec:     matVecGo,
	gemmTile:   gemmTileGo,
	decodeBF16: decodeBF16,
	decodeF16:  decodeF16,
	dot:        dot,
	axpy:       axpy,
}

// implementations lists the implementations this machine can run, the
// fastest first and pureGo last. asmImplementations is defined per
// platform: on amd64 it offers the AVX2 kernels when the CPU has AVX2, FMA
// and F16C, and with the purego or noasm build tag, or on other
// architectures, it returns nothing.
var implementations = append(asmImplementations(), pureGo)

// impl is the implementation in use: the fastest one available. Tests and
// benchmarks switch it with useImplementation.
var impl = implementations[0]

// useImplementation makes im the implementation in use and returns the one
// it replaces. It must not be called while kernels run.
func useImplementation(im *implementation) (prev *implementation) {
	prev, impl = impl, im
	return prev
}

// Implementation returns the name of the micro-kernels that MatMul, Dot
// and Axpy use on this machine: "avx2" (amd64 with AVX2, FMA and F16C) or
// "go" (the portable kernels, also forced by the purego or noasm build
// tag). Results of different implementations agree to float32 rounding,
// not bit for bit.
func Implementation() string { return impl.name }
