package kernels

import (
	"fmt"
	"math"
	"testing"
)

func TestRMSNormKnown(t *testing.T) {
	tests := []struct {
		eps  float32
		want float64
	}{
		{1e-6, 0.70711},
		{1e-5, 0.30151},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.eps), func(t *testing.T) {
			x := make([]float32, 8)
			w := make([]float32, 8)
			for i := range x {
				x[i], w[i] = 1e-3, 1
			}
			RMSNorm(x, x, w, 1, tt.eps) // in place
			for i, v := range x {
				if math.Abs(float64(v)-tt.want) > 1e-5 {
					t.Errorf("out[%d] = %.6f, want %.5f", i, v, tt.want)
				}
			}
		})
	}
}

// rmsNormRef is the plain float64 loop that RMSNorm must match.
func rmsNormRef(x, w []float32, n int, eps float64) []float64 {
	dim := len(w)
	out := make([]float64, len(x))
	for i := range n {
		var ss float64
		for c := range dim {
			ss += float64(x[i*dim+c]) * float64(x[i*dim+c])
		}
		inv := 1 / math.Sqrt(ss/float64(dim)+eps)
		for c := range dim {
			out[i*dim+c] = float64(x[i*dim+c]) * inv * float64(w[c])
		}
	}
	return out
}

func TestRMSNorm(t *testing.T) {
	for _, dim := range sizes {
		for _, n := range []int{1, 3} {
			t.Run(fmt.Sprintf("n=%d/dim=%d", n, dim), func(t *testing.T) {
				r := newRand(uint64(dim*10 + n))
				x, w := randSlice(r, n*dim), randSlice(r, dim)
				out := make([]float32, n*dim)
				RMSNorm(out, x, w, n, 1e-6)
				// Two float32 products after an exact-enough scale:
				// a few ulps relative to the (bounded) result.
				checkClose(t, out, rmsNormRef(x, w, n, float64(float32(1e-6))), 1e-6)
			})
		}
	}
}

func TestAddBias(t *testing.T) {
	for _, dim := range sizes {
		t.Run(fmt.Sprint(dim), func(t *testing.T) {
			r := newRand(uint64(dim))
			const n = 3
			x, b := randSlice(r, n*dim), randSlice(r, dim)
			want := make([]float64, len(x))
			for i := range want {
				want[i] = float64(x[i]) + float64(b[i%dim])
			}
			AddBias(x, n, b)
			checkClose(t, x, want, 1e-7) // one float32 rounding
		})
	}
}

// TestElementwise checks the elementwise kernels against float64 loops.
func TestElementwise(t *testing.T) {
	tests := []struct {
		name string
		tol  float64
		f    func(x, y []float32) []float32 // result of the kernel
		ref  func(x, y []float32) []float64
	}{
		{"Add", 1e-7,
			func(x, y []float32) []float32 { Add(x, y); return x },
			func(x, y []float32) []float64 {
				return each(x, func(i int) float64 { return float64(x[i]) + float64(y[i]) })
			}},
		// alpha*x reaches 15 and is rounded before the add: 2e-6.
		{"Axpy", 2e-6,
			func(x, y []float32) []float32 { Axpy(0.75, x, y); return y },
			func(x, y []float32) []float64 {
				return each(x, func(i int) float64 { return float64(y[i]) + 0.75*float64(x[i]) })
			}},
		{"SiLUMul", 1e-6,
			func(x, y []float32) []float32 { SiLUMul(x, y); return x },
			func(x, y []float32) []float64 {
				return each(x, func(i int) float64 {
					g := float64(x[i])
					return g / (1 + math.Exp(-g)) * float64(y[i])
				})
			}},
		{"Softmax", 1e-6,
			func(x, _ []float32) []float32 { Softmax(x); return x },
			func(x, _ []float32) []float64 {
				lse := logSumExp(x)
				return each(x, func(i int) float64 { return math.Exp(float64(x[i]) - lse) })
			}},
		{"LogSoftmax", 1e-6,
			func(x, y []float32) []float32 { LogSoftmax(y, x); return y },
			func(x, _ []float32) []float64 {
				lse := logSumExp(x)
				return each(x, func(i int) float64 { return float64(x[i]) - lse })
			}},
	}
	for _, tt := range tests {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s/%d", tt.name, n), func(t *testing.T) {
				r := newRand(uint64(n))
				x, y := randSlice(r, n), randSlice(r, n)
				for i := range x {
					x[i] *= 20 // exercise large exponents
				}
				want := tt.ref(x, y) // before the kernel changes x or y
				checkClose(t, tt.f(x, y), want, tt.tol)
			})
		}
	}
}

func each(x []float32, f func(i int) float64) []float64 {
	out := make([]float64, len(x))
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func logSumExp(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v))
	}
	return math.Log(s)
}

func TestSoftmaxEdge(t *testing.T) {
	inf := float32(math.Inf(-1))
	x := []float32{1000, inf, 1000}
	Softmax(x)
	if x[0] != 0.5 || x[1] != 0 || x[2] != 0.5 {
		t.Errorf("Softmax([1000 -Inf 1000]) = %v, want [0.5 0 0.5]", x)
	}
	y := []float32{1000, inf, 1000}
	LogSoftmax(y, y)
	if math.Abs(float64(y[0])+math.Ln2) > 1e-6 || !math.IsInf(float64(y[1]), -1) {
		t.Errorf("LogSoftmax([1000 -Inf 1000]) = %v, want [-ln2 -Inf -ln2]", y)
	}
	Softmax(nil)
	LogSoftmax(nil, nil)
}

func TestDot(t *testing.T) {
	forEachImplementation(t, func(t *testing.T) {
		for _, n := range append(sizes, 0, 31, 32, 33, 4864) {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				r := newRand(uint64(n))
				a, b := randSlice(r, n), randSlice(r, n)
				var want float64
				for i := range a {
					want += float64(a[i]) * float64(b[i])
				}
				got := Dot(a, b)
				// n roundings of values bounded by n, relative 2^-24 each.
				if tol := float64(n)*0x1p-23 + 1e-7; !near(float64(got), want, tol) {
					t.Errorf("Dot = %.9g, want %.9g (tol %g)", got, want, tol)
				}
			})
		}
	})
}

// TestAxpyImplementations checks that every implementation of Axpy gives
// the bits of the portable loop, which rounds alpha*x[i] before the add.
func TestAxpyImplementations(t *testing.T) {
	forEachImplementation(t, func(t *testing.T) {
		for _, n := range append(sizes, 0, 15, 16, 17, 4864) {
			r := newRand(uint64(n))
			x, y := randSlice(r, n), randSlice(r, n)
			want := make([]float32, n)
			for i := range want {
				want[i] = y[i] + float32(0.3*x[i])
			}
			Axpy(0.3, x, y)
			for i := range y {
				if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d: y[%d] = %.9g, want %.9g", n, i, y[i], want[i])
				}
			}
		}
	})
}

func TestOpsPanics(t *testing.T) {
	a, b := make([]float32, 3), make([]float32, 4)
	tests := []struct {
		name string
		f    func()
	}{
		{"RMSNorm x", func() { RMSNorm(b, a, a, 1, 1e-6) }},
		{"RMSNorm n", func() { RMSNorm(a, a, a, 2, 1e-6) }},
		{"AddBias", func() { AddBias(b, 1, a) }},
		{"Add", func() { Add(a, b) }},
		{"SiLUMul", func() { SiLUMul(a, b) }},
		{"LogSoftmax", func() { LogSoftmax(a, b) }},
		{"Dot", func() { Dot(a, b) }},
		{"Axpy", func() { Axpy(1, a, b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

func BenchmarkRMSNorm(b *testing.B) {
	r := newRand(1)
	const n, dim = 8, 896
	x, w := randSlice(r, n*dim), randSlice(r, dim)
	out := make([]float32, n*dim)
	for b.Loop() {
		RMSNorm(out, x, w, n, 1e-6)
	}
}

func BenchmarkSiLUMul(b *testing.B) {
	r := newRand(1)
	g, u := randSlice(r, 4864), randSlice(r, 4864)
	for b.Loop() {
		copy(g, u)
		SiLUMul(g, u)
	}
}

func BenchmarkSoftmax(b *testing.B) {
	x := randSlice(newRand(1), 1024)
	for b.Loop() {
		Softmax(x)
	}
}

func BenchmarkLogSoftmax(b *testing.B) {
	r := newRand(1)
	x := randSlice(r, 151936) // Qwen2 vocabulary
	dst := make([]float32, len(x))
	for b.Loop() {
		LogSoftmax(dst, x)
	}
}

func BenchmarkAxpy(b *testing.B) {
	benchImplementations(b, func(b *testing.B) {
		r := newRand(1)
		x, y := randSlice(r, 896), randSlice(r, 896)
		for b.Loop() {
			Axpy(1e-3, x, y)
		}
	})
}

func BenchmarkAddBias(b *testing.B) {
	r := newRand(1)
	x, bias := randSlice(r, 8*896), randSlice(r, 896)
	for b.Loop() {
		AddBias(x, 8, bias)
	}
}
