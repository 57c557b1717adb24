package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/model"
)

// refForward is an independent float64 transcription of the Hugging Face
// Qwen2 / Llama forward pass (modeling_qwen2.py, modeling_llama.py), written
// without the kernels package: it returns log_softmax of the logits after
// the last id.
func refForward(w *model.Weights, ids []int) []float64 {
	c := w.Config
	h, hd := c.Hidden, c.HeadDim
	row := func(lin *model.Linear) func(x []float64) []float64 {
		return func(x []float64) []float64 {
			out := make([]float64, lin.W.Rows)
			r := make([]float32, lin.W.Cols)
			for o := range out {
				lin.W.Row(o, r)
				var s float64
				for i, v := range r {
					s += float64(v) * x[i]
				}
				if lin.Bias != nil {
					s += float64(lin.Bias[o])
				}
				out[o] = s
			}
			return out
		}
	}
	rms := func(x []float64, wt []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(len(x))+c.RMSNormEps)
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = v * inv * float64(wt[i])
		}
		return out
	}
	// inv_freq = 1 / theta^(2i/d), then Llama 3.1's scaling rule.
	invFreq := make([]float64, hd/2)
	for i := range invFreq {
		invFreq[i] = 1 / math.Pow(c.RopeTheta, float64(2*i)/float64(hd))
		if s := c.RopeScaling; s != nil {
			wl := 2 * math.Pi / invFreq[i]
			lowWL, highWL := float64(s.OriginalMaxPos)/s.LowFreqFactor, float64(s.OriginalMaxPos)/s.HighFreqFactor
			if wl > lowWL {
				invFreq[i] /= s.Factor
			} else if wl >= highWL {
				sm := (float64(s.OriginalMaxPos)/wl - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
				invFreq[i] = (1-sm)*invFreq[i]/s.Factor + sm*invFreq[i]
			}
		}
	}
	rope := func(v []float64, heads, pos int) {
		for hh := range heads {
			x := v[hh*hd : (hh+1)*hd]
			for i := range hd / 2 {
				a := float64(pos) * invFreq[i]
				x0, x1 := x[i], x[i+hd/2]
				x[i] = x0*math.Cos(a) - x1*math.Sin(a)
				x[i+hd/2] = x1*math.Cos(a) + x0*math.Sin(a)
			}
		}
	}
	n := len(ids)
	hs := make([][]float64, n)
	emb := make([]float32, h)
	for p, id := range ids {
		w.Embed.Row(id, emb)
		hs[p] = make([]float64, h)
		for i, v := range emb {
			hs[p][i] = float64(v)
		}
	}
	for li := range w.Layers {
		l := &w.Layers[li]
		qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for p := range n {
			x := rms(hs[p], l.AttnNorm)
			qs[p], ks[p], vs[p] = row(&l.Q)(x), row(&l.K)(x), row(&l.V)(x)
			rope(qs[p], c.Heads, p)
			rope(ks[p], c.KVHeads, p)
		}
		for p := range n {
			att := make([]float64, c.Heads*hd)
			for hh := range c.Heads {
				kv := hh / (c.Heads / c.KVHeads)
				sc := make([]float64, p+1)
				m := math.Inf(-1)
				for j := range p + 1 {
					var d float64
					for i := range hd {
						d += qs[p][hh*hd+i] * ks[j][kv*hd+i]
					}
					sc[j] = d / math.Sqrt(float64(hd))
					m = math.Max(m, sc[j])
				}
				var z float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - m)
					z += sc[j]
				}
				for j := range sc {
					for i := range hd {
						att[hh*hd+i] += sc[j] / z * vs[j][kv*hd+i]
					}
				}
			}
			o := row(&l.O)(att)
			for i := range o {
				hs[p][i] += o[i]
			}
			x := rms(hs[p], l.MLPNorm)
			g, u := row(&l.Gate)(x), row(&l.Up)(x)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := row(&l.Down)(g)
			for i := range d {
				hs[p][i] += d[i]
			}
		}
	}
	x := rms(hs[n-1], w.Norm)
	logits := row(&model.Linear{W: w.Output})(x)
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, v)
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(v - m)
	}
	for i := range logits {
		logits[i] -= m + math.Log(z)
	}
	return logits
}

// TestForwardMatchesReference runs the engine against the float64
// reference on shapes and dtypes the shared fixtures do not cover: odd
// widths (not multiples of the SIMD width), head_dim given explicitly,
// f16 and f32 weights, untied Llama heads with llama3 scaling, MHA and
// several GQA groupings.
func TestForwardMatchesReference(t *testing.T) {
	specs := map[string]ckptgen.Spec{
		"qwen2 bf16 odd widths":      {Arch: model.ArchQwen2, Hidden: 36, Intermediate: 50, Layers: 2, Heads: 3, KVHeads: 1, Vocab: 301, Tied: true, RopeTheta: 1e6},
		"qwen2 f32":                  {Arch: model.ArchQwen2, Hidden: 64, Intermediate: 96, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 257, Tied: true, RopeTheta: 1e4, DType: "F32"},
		"qwen2 f16 untied":           {Arch: model.ArchQwen2, Hidden: 48, Intermediate: 72, Layers: 3, Heads: 6, KVHeads: 3, Vocab: 200, Tied: false, RopeTheta: 1e6, DType: "F16"},
		"llama3 scaling untied":      {Arch: model.ArchLlama, Hidden: 64, Intermediate: 128, Layers: 2, Heads: 8, KVHeads: 2, Vocab: 300, Tied: false, RopeTheta: 5e5, Llama3Rope: true},
		"llama multi-head attention": {Arch: model.ArchLlama, Hidden: 40, Intermediate: 60, Layers: 2, Heads: 4, KVHeads: 4, Vocab: 128, Tied: true, RopeTheta: 1e4},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			spec.Seed = 11
			ck, err := spec.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			w, err := model.Build(ck)
			if err != nil {
				t.Fatal(err)
			}
			net, err := NewNet(w, Placement{Backends: []Backend{&CPU{}}, Layers: []int{w.Config.Layers}})
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(3, 4))
			for _, n := range []int{1, 9, 70} {
				ids := make([]int, n)
				for i := range ids {
					ids[i] = r.IntN(spec.Vocab)
				}
				s, err := net.NewSeq(n, 16)
				if err != nil {
					t.Fatal(err)
				}
				out := [][]float32{make([]float32, spec.Vocab)}
				if err := s.Forward(context.Background(), ids, []int{n - 1}, out); err != nil {
					t.Fatal(err)
				}
				got := LogSoftmax(out[0])
				want := refForward(w, ids)
				worst := 0.0
				for i := range want {
					worst = math.Max(worst, math.Abs(got[i]-want[i]))
				}
				t.Logf("%d tokens: max diff %.2g", n, worst)
				if worst > 1e-4 {
					t.Errorf("%d tokens: max |log-prob difference| %.3g, want <= 1e-4", n, worst)
				}
			}
		})
	}
}
