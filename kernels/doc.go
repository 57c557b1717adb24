// Package kernels holds the numeric kernels of the inference engine: dtype
// conversion, matrix multiplication, normalisation, activations, softmax and
// rotary position embeddings. It imports nothing else from the project.
//
// # Layout
//
// Every tensor is a flat Go slice in row-major order: the last axis is the
// contiguous one. A shape is written [rows, cols], and for activations
// [n, dim], where n is the number of positions (tokens) and dim the width of
// one position. Element (i, c) of an [n, dim] tensor x is x[i*dim+c].
// This is PyTorch's order, so shapes in this package read the same as in the
// Hugging Face reference code (and the reverse of ggml's innermost-first
// order).
//
// The shapes used by the kernels are:
//
//	MatMul   out [n, w.Rows], x [n, w.Cols], w [Rows, Cols] (a torch Linear weight)
//	RMSNorm  out, x [n, dim], weight [dim]
//	AddBias  x [n, dim], bias [dim]
//	RoPE     x [n, nHeads*headDim], pos [n], invFreq [headDim/2]
//
// Weights are held in a Mat, which may point into a memory-mapped
// safetensors file and is never copied. Activations are always float32, and
// all sums accumulate in float32 unless a doc comment says otherwise.
//
// # Errors
//
// Kernels have no error results. A shape or length mismatch is a bug in the
// caller and makes the kernel panic with a message that starts with
// "kernels: ".
//
// # Threads
//
// MatMul and ParallelFor share one pool of worker goroutines, started once
// and reused by every call. SetThreads sets how many goroutines, the caller
// included, work on one call. Kernels may be called from several goroutines
// at once.
//
// # Implementations
//
// The inner loops of MatMul, Dot and Axpy live in small micro-kernels. The
// portable ones, in kernel_generic.go, are plain Go written with four to
// six independent accumulators; they are the reference and the fallback.
// On amd64 CPUs with AVX2, FMA and F16C, assembly kernels
// (kernel_amd64.s) are chosen at run time with golang.org/x/sys/cpu; the
// purego or noasm build tag forces the portable kernels, and other
// architectures always use them. Implementation names the one in use.
//
// Each implementation has one canonical summation order for the dot
// product behind an output element of MatMul, followed by all of its paths
// (one position or many, whole blocks or remainders, any thread count):
// one sequential float32 accumulator for the portable kernels, eight FMA
// lanes with a fixed final reduction for AVX2. So within one
// implementation a row's result never depends on how the product was
// split, while two implementations agree only to float32 rounding. The
// tests run every available implementation against a plain float64 loop
// over several sizes, with stated tolerances. Because summation order
// differs from PyTorch's, results agree with it to float32 rounding, not
// bit for bit.
package kernels
