package kernels

import (
	"math"
	"strconv"
)

// Llama3Scaling holds the rope_scaling entry of a Hugging Face config whose
// rope_type is "llama3" (Llama 3.1 and later).
type Llama3Scaling struct {
	Factor         float64 // "factor": how much longer the context is
	LowFreqFactor  float64 // "low_freq_factor"
	HighFreqFactor float64 // "high_freq_factor"
	OriginalMaxPos int     // "original_max_position_embeddings"
}

// RopeInvFreq returns the headDim/2 inverse frequencies of rotary
// embeddings, inv_freq[i] = theta^(-2i/headDim), in float64. If scaling is
// not nil it then applies the llama3 rule of Hugging Face's
// _compute_llama3_parameters: with wavelen = 2π/inv_freq[i],
// frequencies whose wavelength is longer than OriginalMaxPos/LowFreqFactor
// are divided by Factor, those shorter than OriginalMaxPos/HighFreqFactor
// are kept, and those in between are interpolated. RopeInvFreq panics if
// headDim is not positive and even.
func RopeInvFreq(headDim int, theta float64, scaling *Llama3Scaling) []float64 {
	if headDim <= 0 || headDim%2 != 0 {
		panic("kernels: RopeInvFreq headDim " + strconv.Itoa(headDim) + " is not positive and even")
	}
	inv := make([]float64, headDim/2)
	for i := range inv {
		inv[i] = 1 / math.Pow(theta, float64(2*i)/float64(headDim))
	}
	if scaling == nil {
		return inv
	}

	s := *scaling
	orig := float64(s.OriginalMaxPos)
	lowFreqWavelen := orig / s.LowFreqFactor
	highFreqWavelen := orig / s.HighFreqFactor
	for i, f := range inv {
		wavelen := 2 * math.Pi / f
		switch {
		case wavelen > lowFreqWavelen: // low frequency: stretch fully
			inv[i] = f / s.Factor
		case wavelen < highFreqWavelen: // high frequency: keep
		default: // in between: blend the two
			smooth := (orig/wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
			inv[i] = (1-smooth)*f/s.Factor + smooth*f
		}
	}
	return inv
}

// RoPE applies rotary position embeddings in place to x [n, nHeads*headDim]
// (queries or keys of n positions), with the rotate-half pairing of Hugging
// Face's Qwen2 and Llama: element c of a head pairs with c+headDim/2, and
// with h = headDim/2 and angle = pos[j]*invFreq[c],
//
//	out[c]   = x[c]*cos(angle) - x[c+h]*sin(angle)
//	out[c+h] = x[c+h]*cos(angle) + x[c]*sin(angle)
//
// Row j is at position pos[j]. Angles, sines and cosines are computed in
// float64. RoPE panics if len(x) != n*nHeads*headDim, if len(pos) != n or if
// len(invFreq) != headDim/2.
func RoPE(x []float32, n, nHeads, headDim int, pos []int, invFreq []float64) {
	if n < 0 || nHeads < 0 || headDim < 0 || headDim%2 != 0 ||
		len(x) != n*nHeads*headDim || len(pos) != n || len(invFreq) != headDim/2 {
		panic("kernels: RoPE shape mismatch: x " + strconv.Itoa(len(x)) +
			", n " + strconv.Itoa(n) + ", nHeads " + strconv.Itoa(nHeads) +
			", headDim " + strconv.Itoa(headDim) + ", pos " + strconv.Itoa(len(pos)) +
			", invFreq " + strconv.Itoa(len(invFreq)))
	}
	h := headDim / 2
	width := nHeads * headDim
	for j := range n {
		row := x[j*width : (j+1)*width]
		p := float64(pos[j])
		for c, f := range invFreq {
			sin, cos := math.Sincos(p * f)
			for hd := 0; hd < width; hd += headDim {
				a, b := float64(row[hd+c]), float64(row[hd+c+h])
				row[hd+c] = float32(a*cos - b*sin)
				row[hd+c+h] = float32(b*cos + a*sin)
			}
		}
	}
}
