package kernels

import (
	"math"
	"strconv"
)

// RMSNorm normalises each of the n rows of x by its root mean square and
// scales it by weight, as Hugging Face's Qwen2RMSNorm and LlamaRMSNorm do:
//
//	out[i, c] = x[i, c] / sqrt(mean_c(x[i, c]^2) + eps) * weight[c]
//
// x and out are [n, dim] and weight is [dim], dim = len(weight). The mean of
// squares is summed in float64; the scaling is done in float32. out may be
// x. RMSNorm panics if len(x) or len(out) is not n*len(weight).
func RMSNorm(out, x, weight []float32, n int, eps float32) {
	dim := len(weight)
	if n < 0 || len(x) != n*dim || len(out) != n*dim {
		panic("kernels: RMSNorm shape mismatch: out " + strconv.Itoa(len(out)) +
			", x " + strconv.Itoa(len(x)) + ", n " + strconv.Itoa(n) +
			", dim " + strconv.Itoa(dim))
	}
	if dim == 0 {
		return
	}
	for i := range n {
		xs, os := x[i*dim:(i+1)*dim], out[i*dim:(i+1)*dim]
		var ss float64
		for _, v := range xs {
			ss += float64(v) * float64(v)
		}
		scale := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
		os = os[:len(xs)]
		w := weight[:len(xs)]
		for c, v := range xs {
			os[c] = v * scale * w[c]
		}
	}
}

// AddBias adds bias [dim] to each of the n rows of x [n, dim], dim =
// len(bias). It panics if len(x) != n*len(bias).
func AddBias(x []float32, n int, bias []float32) {
	dim := len(bias)
	if n < 0 || len(x) != n*dim {
		panic("kernels: AddBias shape mismatch: x " + strconv.Itoa(len(x)) +
			", n " + strconv.Itoa(n) + ", dim " + strconv.Itoa(dim))
	}
	for i := range n {
		Add(x[i*dim:(i+1)*dim], bias)
	}
}

// Add sets dst[i] += src[i]. It panics if the lengths differ.
func Add(dst, src []float32) {
	if len(dst) != len(src) {
		panic("kernels: Add length mismatch: " + strconv.Itoa(len(dst)) +
			" != " + strconv.Itoa(len(src)))
	}
	for i, v := range src {
		dst[i] += v
	}
}

// SiLUMul sets gate[i] = silu(gate[i]) * up[i], where silu(g) = g/(1+e^-g):
// the SwiGLU activation of the Qwen2 and Llama MLP. The exponential is
// computed in float64. It panics if the lengths differ.
func SiLUMul(gate, up []float32) {
	if len(gate) != len(up) {
		panic("kernels: SiLUMul length mismatch: " + strconv.Itoa(len(gate)) +
			" != " + strconv.Itoa(len(up)))
	}
	up = up[:len(gate)]
	for i, g := range gate {
		gate[i] = float32(float64(g)/(1+math.Exp(-float64(g)))) * up[i]
	}
}

// Softmax replaces x by softmax(x) = exp(x - max) / sum(exp(x - max)). The
// exponentials and their sum are computed in float64. Elements equal to
// -Inf get probability 0; if every element is -Inf the result is NaN.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := maxOf(x)
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v) - m)
		x[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i, v := range x {
		x[i] = float32(float64(v) * inv)
	}
}

// LogSoftmax sets dst = x - logsumexp(x), the log-probabilities of the
// logits x, with the maximum subtracted and the sum of exponentials taken in
// float64. dst may be x. It panics if the lengths differ.
func LogSoftmax(dst, x []float32) {
	if len(dst) != len(x) {
		panic("kernels: LogSoftmax length mismatch: " + strconv.Itoa(len(dst)) +
			" != " + strconv.Itoa(len(x)))
	}
	if len(x) == 0 {
		return
	}
	m := maxOf(x)
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(sum)
	for i, v := range x {
		dst[i] = float32(float64(v) - lse)
	}
}

// maxOf returns the largest element of the non-empty x.
func maxOf(x []float32) float64 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	return float64(m)
}

// Dot returns sum_i a[i]*b[i], summed in float32 with several partial sums.
// It panics if the lengths differ.
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("kernels: Dot length mismatch: " + strconv.Itoa(len(a)) +
			" != " + strconv.Itoa(len(b)))
	}
	return impl.dot(a, b)
}

// Axpy sets y[i] += alpha * x[i]. It panics if the lengths differ.
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic("kernels: Axpy length mismatch: " + strconv.Itoa(len(x)) +
			" != " + strconv.Itoa(len(y)))
	}
	impl.axpy(alpha, x, y)
}
