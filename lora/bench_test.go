package lora

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// qwen2_7B is the layer shape of Qwen2-7B.
var qwen2_7B = &model.Config{Hidden: 3584, Intermediate: 18944, Heads: 28, KVHeads: 4, HeadDim: 128}

// randomMat returns a [rows, cols] bfloat16 matrix ~ N(0, 0.02).
func randomMat(rng *rand.Rand, rows, cols int) kernels.Mat {
	m := newMat(kernels.BF16, rows, cols)
	for i := range m.U16 {
		m.U16[i] = kernels.F32ToBF16(float32(0.02 * rng.NormFloat64()))
	}
	return m
}

// randomDelta returns a rank-r update for a module of c.
func randomDelta(rng *rand.Rand, c *model.Config, proj string, r int) *Delta {
	out, in := c.ModuleShape(proj)
	d := &Delta{Module: proj, Proj: proj, Rank: r, Alpha: 16, Scale: 1, In: in, Out: out,
		A: make([]float32, r*in), B: make([]float32, out*r)}
	for i := range d.A {
		d.A[i] = float32(0.05 * rng.NormFloat64())
	}
	for i := range d.B {
		d.B[i] = float32(0.05 * rng.NormFloat64())
	}
	return d
}

// BenchmarkMergeQwen2_7BLayer merges rank-16 updates into all seven
// projections of one Qwen2-7B-shaped layer (bf16). Multiply by 28 for the
// whole model.
func BenchmarkMergeQwen2_7BLayer(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ws []kernels.Mat
	var ds []*Delta
	var elems int64
	for _, p := range linearModules {
		out, in := qwen2_7B.ModuleShape(p)
		ws = append(ws, randomMat(rng, out, in))
		ds = append(ds, randomDelta(rng, qwen2_7B, p, 16))
		elems += int64(out * in)
	}
	for _, impl := range []struct {
		name  string
		merge func(kernels.Mat, *Delta, kernels.DType) kernels.Mat
	}{{"kernels", MergeMatAs}, {"scalar", mergeMatScalar}} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(elems * 2)
			cpu0 := cpuSeconds()
			for b.Loop() {
				for i := range ws {
					_ = impl.merge(ws[i], ds[i], ws[i].DType)
				}
			}
			// CPU time per layer does not depend on how busy the machine
			// is; divide by the cores used for the wall time of an idle
			// machine.
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
	}
}

// cpuSeconds is the user plus system CPU time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
