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
// Everything is pure Go: no cgo and no assembly. The inner loops of MatMul
// and Dot live in small micro-kernels in kernel_generic.go, written with
// four to six independent accumulators. They are the portable
// implementation and the reference that SIMD versions, added later behind
// build tags, must match. The tests check every kernel against a plain
// float64 loop over several sizes, with stated tolerances. Because
// summation order differs from PyTorch's, results agree with it to float32
// rounding, not bit for bit.
package kernels
