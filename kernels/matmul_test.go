package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// newMat returns a random Mat of the given dtype and shape, and its values
// as float64 (after rounding to the dtype).
func newMat(r *rand.Rand, dt DType, rows, cols int) (Mat, []float64) {
	v := randSlice(r, rows*cols)
	m := Mat{DType: dt, Rows: rows, Cols: cols}
	ref := make([]float64, len(v))
	switch dt {
	case F32:
		m.F32 = v
		for i, f := range v {
			ref[i] = float64(f)
		}
	case BF16:
		m.U16 = make([]uint16, len(v))
		for i, f := range v {
			m.U16[i] = F32ToBF16(f)
			ref[i] = float64(BF16ToF32(m.U16[i]))
		}
	case F16:
		m.U16 = make([]uint16, len(v))
		for i, f := range v {
			m.U16[i] = F32ToF16(f)
			ref[i] = float64(F16ToF32(m.U16[i]))
		}
	}
	return m, ref
}

// matMulRef is the plain float64 loop that MatMul must match.
func matMulRef(x []float32, n int, w []float64, rows, cols int) []float64 {
	out := make([]float64, n*rows)
	for i := range n {
		for r := range rows {
			var s float64
			for c := range cols {
				s += float64(x[i*cols+c]) * w[r*cols+c]
			}
			out[i*rows+r] = s
		}
	}
	return out
}

func TestMatMul(t *testing.T) {
	shapes := []struct{ n, rows, cols int }{
		{1, 1, 1}, {1, 7, 7}, {1, 64, 130}, {1, 130, 64}, {1, 5, 897},
		{2, 3, 9}, {3, 7, 1}, {7, 64, 130}, {64, 130, 64}, {5, 67, 897},
		{130, 9, 7}, {4, 1000, 3},
	}
	threads := Threads()
	defer SetThreads(threads)
	forEachImplementation(t, func(t *testing.T) {
		for _, dt := range []DType{F32, BF16, F16} {
			for _, th := range []int{1, 3} {
				for _, s := range shapes {
					name := fmt.Sprintf("%v/threads=%d/n=%d/%dx%d", dt, th, s.n, s.rows, s.cols)
					t.Run(name, func(t *testing.T) {
						SetThreads(th)
						r := newRand(uint64(s.n*1000003 + s.rows*1009 + s.cols))
						w, wref := newMat(r, dt, s.rows, s.cols)
						x := randSlice(r, s.n*s.cols)
						out := make([]float32, s.n*s.rows)
						MatMul(out, x, s.n, w)
						// Each of cols float32 products and sums rounds by at
						// most 2^-24 relative; with |x|, |w| <= 1 the error
						// is bounded by about cols * 2^-23.
						checkClose(t, out, matMulRef(x, s.n, wref, s.rows, s.cols),
							float64(s.cols)*0x1p-23+1e-7)
					})
				}
			}
		}
	})
}

func TestMatMulPanics(t *testing.T) {
	w := Mat{DType: F32, Rows: 2, Cols: 3, F32: make([]float32, 6)}
	tests := []struct {
		name string
		f    func()
	}{
		{"short x", func() { MatMul(make([]float32, 2), make([]float32, 2), 1, w) }},
		{"short out", func() { MatMul(make([]float32, 1), make([]float32, 3), 1, w) }},
		{"negative n", func() { MatMul(nil, nil, -1, w) }},
		{"bad Mat", func() { MatMul(make([]float32, 2), make([]float32, 3), 1, Mat{DType: BF16, Rows: 2, Cols: 3}) }},
		{"bad dtype", func() { MatMul(make([]float32, 2), make([]float32, 3), 1, Mat{DType: 7, Rows: 2, Cols: 3}) }},
		{"Row out of range", func() { w.Row(2, make([]float32, 3)) }},
		{"Row short dst", func() { w.Row(0, make([]float32, 2)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

func TestMatMulZero(t *testing.T) {
	w := Mat{DType: BF16, Rows: 3, Cols: 0}
	out := []float32{1, 2, 3}
	MatMul(out, nil, 1, w)
	for i, v := range out {
		if v != 0 {
			t.Errorf("out[%d] = %g with zero columns, want 0", i, v)
		}
	}
	MatMul(nil, nil, 0, Mat{DType: F32, Rows: 2, Cols: 2, F32: make([]float32, 4)})
}

func TestMatRow(t *testing.T) {
	for _, dt := range []DType{F32, BF16, F16} {
		t.Run(dt.String(), func(t *testing.T) {
			m, ref := newMat(newRand(3), dt, 5, 7)
			dst := make([]float32, 7)
			for r := range 5 {
				m.Row(r, dst)
				checkClose(t, dst, ref[r*7:(r+1)*7], 0)
			}
		})
	}
}

func TestMatMulAllocs(t *testing.T) {
	threads := Threads()
	defer SetThreads(threads)
	SetThreads(2)
	forEachImplementation(t, func(t *testing.T) {
		r := newRand(4)
		for _, n := range []int{1, 16} {
			for _, dt := range []DType{F32, BF16, F16} {
				w, _ := newMat(r, dt, 256, 96)
				x := randSlice(r, n*96)
				out := make([]float32, n*256)
				MatMul(out, x, n, w) // warm up the pools
				allocs := testing.AllocsPerRun(100, func() { MatMul(out, x, n, w) })
				// sync.Pool may drop its items at a GC; allow a rare refill.
				if allocs > 0.1 {
					t.Errorf("%v n=%d: %.2f allocations per MatMul, want 0", dt, n, allocs)
				}
			}
		}
	})
}

// TestMatMulConcurrent runs MatMuls from several goroutines at once, as
// concurrent requests would.
func TestMatMulConcurrent(t *testing.T) {
	r := newRand(5)
	w, wref := newMat(r, BF16, 130, 64)
	const n = 9
	done := make(chan error)
	for g := range 4 {
		go func() {
			x := randSlice(newRand(uint64(g)), n*64)
			want := matMulRef(x, n, wref, 130, 64)
			out := make([]float32, n*130)
			for range 50 {
				MatMul(out, x, n, w)
				for i := range out {
					if !near(float64(out[i]), want[i], 1e-4) {
						done <- fmt.Errorf("goroutine %d: out[%d] = %g, want %g", g, i, out[i], want[i])
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestMatMulConformance checks every implementation against the float64
// loop at the widths where the micro-kernels change path: below, at and
// above one vector of eight, a tail of every length, and numbers of
// positions and rows that leave every kind of remainder block.
func TestMatMulConformance(t *testing.T) {
	colsList := []int{1, 7, 8, 9, 15, 16, 17, 64, 130, 897}
	ns := []int{1, 2, 3, 4, 5, 8, 13}
	const rows = 11 // three blocks of three and two left; two of four and three left
	forEachImplementation(t, func(t *testing.T) {
		for _, dt := range []DType{F32, BF16, F16} {
			for _, cols := range colsList {
				for _, n := range ns {
					t.Run(fmt.Sprintf("%v/n=%d/cols=%d", dt, n, cols), func(t *testing.T) {
						r := newRand(uint64(n*7919 + cols))
						w, wref := newMat(r, dt, rows, cols)
						x := randSlice(r, n*cols)
						out := make([]float32, n*rows)
						MatMul(out, x, n, w)
						checkClose(t, out, matMulRef(x, n, wref, rows, cols),
							float64(cols)*0x1p-23+1e-7)
					})
				}
			}
		}
	})
}

// TestMatMulRowsIndependent checks that a row's result does not depend on
// how many positions are multiplied at once, where the row sits among
// them, or how the weight rows are split among threads: the engine relies
// on it so that chunked and cached prompts give the same bits as one pass.
// Each implementation is checked against itself.
func TestMatMulRowsIndependent(t *testing.T) {
	threads := Threads()
	defer SetThreads(threads)
	forEachImplementation(t, func(t *testing.T) {
		r := newRand(7)
		for _, dt := range []DType{F32, BF16, F16} {
			for _, shape := range [][2]int{{37, 19}, {130, 64}, {5, 1}, {23, 8}, {13, 897}, {250, 17}, {301, 128}} {
				rows, cols := shape[0], shape[1]
				w, _ := newMat(r, dt, rows, cols)
				const n = 9
				x := randSlice(r, n*cols)
				SetThreads(1)
				all := make([]float32, n*rows)
				MatMul(all, x, n, w)
				for _, th := range []int{1, 2, 3} {
					SetThreads(th)
					for lo := range n {
						for hi := lo + 1; hi <= n; hi++ {
							part := make([]float32, (hi-lo)*rows)
							MatMul(part, x[lo*cols:hi*cols], hi-lo, w)
							for i := range part {
								if math.Float32bits(part[i]) != math.Float32bits(all[lo*rows+i]) {
									t.Fatalf("%v %dx%d threads=%d: rows [%d,%d) differ from the full product at %d: %g != %g",
										dt, rows, cols, th, lo, hi, i, part[i], all[lo*rows+i])
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestDecodeImplementations checks that every implementation decodes all
// 65536 bfloat16 and half bit patterns exactly as BF16ToF32 and F16ToF32
// do (NaNs need only stay NaN), at lengths that leave every tail.
func TestDecodeImplementations(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	forEachImplementation(t, func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			decode func(dst []float32, src []uint16)
			ref    func(uint16) float32
		}{
			{"BF16", impl.decodeBF16, BF16ToF32},
			{"F16", impl.decodeF16, F16ToF32},
		} {
			for _, n := range []int{len(src), 1, 7, 9, 23} {
				dst := make([]float32, n)
				tt.decode(dst, src[len(src)-n:])
				for i, v := range dst {
					h := src[len(src)-n+i]
					want := tt.ref(h)
					if math.Float32bits(v) != math.Float32bits(want) && !(v != v && want != want) {
						t.Fatalf("%s n=%d: %#04x decodes to %g, want %g", tt.name, n, h, v, want)
					}
				}
			}
		}
	})
}

// The benchmark shapes are Qwen2-0.5B's MLP projections: gate/up are
// [4864, 896] and down is [896, 4864], and its output layer, [151936, 896].
// The MLP weights fit in a large L3 cache; the output layer (272 MB in
// bfloat16) streams from memory, as every weight does in decoding. The
// output layer runs only for n == 1, the decode case. Each
// runs under every implementation, so one run compares the assembly with
// the portable kernels.
func BenchmarkMatMul(b *testing.B) {
	shapes := []struct {
		name       string
		rows, cols int
	}{
		{"896x4864", 896, 4864},
		{"4864x896", 4864, 896},
		{"151936x896", 151936, 896},
	}
	benchImplementations(b, func(b *testing.B) {
		for _, dt := range []DType{BF16, F32, F16} {
			for _, s := range shapes {
				for _, n := range []int{1, 64} {
					if s.rows > 100000 && n != 1 {
						continue
					}
					b.Run(fmt.Sprintf("%v/%s/n=%d", dt, s.name, n), func(b *testing.B) {
						r := newRand(1)
						w, _ := newMat(r, dt, s.rows, s.cols)
						x := randSlice(r, n*s.cols)
						out := make([]float32, n*s.rows)
						b.ReportAllocs()
						for b.Loop() {
							MatMul(out, x, n, w)
						}
						flops := 2 * float64(n) * float64(s.rows) * float64(s.cols)
						b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		}
	})
}

func BenchmarkDot(b *testing.B) {
	benchImplementations(b, func(b *testing.B) {
		for _, n := range []int{64, 896, 4864} {
			b.Run(fmt.Sprint(n), func(b *testing.B) {
				r := newRand(1)
				x, y := randSlice(r, n), randSlice(r, n)
				var s float32
				for b.Loop() {
					s += Dot(x, y)
				}
				if math.IsNaN(float64(s)) {
					b.Fatal("NaN")
				}
				b.ReportMetric(2*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	})
}

// BenchmarkMatMulOneThread measures the micro-kernels on one core, which is
// steadier than BenchmarkMatMul on a shared machine.
func BenchmarkMatMulOneThread(b *testing.B) {
	threads := Threads()
	defer SetThreads(threads)
	SetThreads(1)
	benchImplementations(b, func(b *testing.B) {
		for _, dt := range []DType{BF16, F32, F16} {
			for _, n := range []int{1, 64} {
				b.Run(fmt.Sprintf("%v/896x4864/n=%d", dt, n), func(b *testing.B) {
					r := newRand(1)
					w, _ := newMat(r, dt, 896, 4864)
					x := randSlice(r, n*4864)
					out := make([]float32, n*896)
					for b.Loop() {
						MatMul(out, x, n, w)
					}
					flops := 2 * float64(n) * 896 * 4864
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	})
}

// TestImplementation checks that the fastest available implementation is
// in use and that the portable one is always available, last.
func TestImplementation(t *testing.T) {
	if got, want := Implementation(), implementations[0].name; got != want {
		t.Errorf("Implementation() = %q, want %q", got, want)
	}
	if last := implementations[len(implementations)-1]; last != pureGo {
		t.Errorf("last implementation is %q, want %q", last.name, pureGo.name)
	}
	t.Logf("implementations available: %d, in use: %s", len(implementations), Implementation())
}
