package kernels

import (
	"fmt"
	"math"
	"testing"
)

func TestRoPEKnown(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	RoPE(x, 1, 1, 4, []int{1}, RopeInvFreq(4, 1e4, nil))
	want := []float64{-1.984111, 1.959901, 2.462378, 4.019800}
	checkClose(t, x, want, 1e-6)
}

func TestRopeInvFreq(t *testing.T) {
	inv := RopeInvFreq(8, 1e4, nil)
	want := []float64{1, 0.1, 0.01, 0.001}
	for i := range want {
		if !near(inv[i], want[i], 1e-15) {
			t.Errorf("inv[%d] = %g, want %g", i, inv[i], want[i])
		}
	}
	mustPanic(t, func() { RopeInvFreq(7, 1e4, nil) })
	mustPanic(t, func() { RopeInvFreq(0, 1e4, nil) })
}

// llama31 is rope_scaling of Llama-3.1-8B (head_dim 128, rope_theta 5e5).
var llama31 = Llama3Scaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPos: 8192}

// llama3Ref transcribes Hugging Face's _compute_llama3_parameters in float64,
// in its own vectorised form: every index gets the smoothed value, and
// torch.where picks among them.
func llama3Ref(headDim int, theta float64, s Llama3Scaling) []float64 {
	orig := float64(s.OriginalMaxPos)
	lowFreqWavelen, highFreqWavelen := orig/s.LowFreqFactor, orig/s.HighFreqFactor
	out := make([]float64, headDim/2)
	for i := range out {
		invFreq := 1 / math.Pow(theta, float64(2*i)/float64(headDim))
		wavelen := 2 * math.Pi / invFreq
		llama := invFreq
		if wavelen > lowFreqWavelen {
			llama = invFreq / s.Factor
		}
		smooth := (orig/wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
		smoothed := (1-smooth)*llama/s.Factor + smooth*llama
		if !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen) {
			llama = smoothed
		}
		out[i] = llama
	}
	return out
}

func TestRopeInvFreqLlama3(t *testing.T) {
	got := RopeInvFreq(128, 5e5, &llama31)
	want := llama3Ref(128, 5e5, llama31)
	checkClose(t, toF32(got), want, 1e-7)
	for i := range got {
		if !near(got[i], want[i], 1e-14) {
			t.Errorf("inv[%d] = %.17g, want %.17g", i, got[i], want[i])
		}
	}

	// Known values, from Python's float64 math on the same formula:
	// 0 and 28 are high frequency (kept), 29-34 blended, 35 and 63 low
	// frequency (divided by 8).
	known := []struct {
		i    int
		want float64
	}{
		{0, 1},
		{28, 0.0032114459947525913},
		{29, 0.002166570763503359},
		{30, 0.0013718935677611381},
		{34, 0.00017850781276799638},
		{35, 9.556212353964683e-05},
		{63, 3.068925988914511e-07},
	}
	for _, k := range known {
		if !near(got[k.i], k.want, 1e-13) {
			t.Errorf("inv[%d] = %.17g, want %.17g", k.i, got[k.i], k.want)
		}
	}
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// ropeRef is the plain float64 loop that RoPE must match.
func ropeRef(x []float32, n, nHeads, headDim int, pos []int, inv []float64) []float64 {
	out := make([]float64, len(x))
	h := headDim / 2
	for j := range n {
		for hd := range nHeads {
			o := j*nHeads*headDim + hd*headDim
			for c := range h {
				a, b := float64(x[o+c]), float64(x[o+c+h])
				ang := float64(pos[j]) * inv[c]
				out[o+c] = a*math.Cos(ang) - b*math.Sin(ang)
				out[o+c+h] = b*math.Cos(ang) + a*math.Sin(ang)
			}
		}
	}
	return out
}

func TestRoPE(t *testing.T) {
	tests := []struct{ n, nHeads, headDim int }{
		{1, 1, 2}, {1, 7, 64}, {3, 2, 130}, {7, 14, 64}, {64, 2, 128}, {2, 1, 8},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d/heads=%d/dim=%d", tt.n, tt.nHeads, tt.headDim), func(t *testing.T) {
			r := newRand(uint64(tt.n*100 + tt.headDim))
			x := randSlice(r, tt.n*tt.nHeads*tt.headDim)
			pos := make([]int, tt.n)
			for j := range pos {
				pos[j] = r.IntN(40000)
			}
			inv := RopeInvFreq(tt.headDim, 1e6, &llama31)
			want := ropeRef(x, tt.n, tt.nHeads, tt.headDim, pos, inv)
			RoPE(x, tt.n, tt.nHeads, tt.headDim, pos, inv)
			checkClose(t, x, want, 1e-6) // one float32 rounding of each output
		})
	}
}

func TestRoPEPanics(t *testing.T) {
	inv := RopeInvFreq(4, 1e4, nil)
	tests := []struct {
		name string
		f    func()
	}{
		{"short x", func() { RoPE(make([]float32, 7), 2, 1, 4, []int{0, 1}, inv) }},
		{"short pos", func() { RoPE(make([]float32, 8), 2, 1, 4, []int{0}, inv) }},
		{"invFreq", func() { RoPE(make([]float32, 8), 1, 1, 8, []int{0}, inv) }},
		{"odd headDim", func() { RoPE(make([]float32, 3), 1, 1, 3, []int{0}, inv[:1]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

func BenchmarkRoPE(b *testing.B) {
	// Qwen2-0.5B queries: 14 heads of 64, 8 positions.
	const n, nHeads, headDim = 8, 14, 64
	x := randSlice(newRand(1), n*nHeads*headDim)
	pos := []int{100, 101, 102, 103, 104, 105, 106, 107}
	inv := RopeInvFreq(headDim, 1e6, nil)
	for b.Loop() {
		RoPE(x, n, nHeads, headDim, pos, inv)
	}
}
