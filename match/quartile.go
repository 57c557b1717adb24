package match

import (
	"math"
	"slices"
)

// Quantile7 returns the type-7 quantile p of xs (which it does not modify):
// with x sorted and h = (n-1)p, q = x[floor h] + (h - floor h)(x[floor h + 1]
// - x[floor h]). It returns NaN for an empty xs.
func Quantile7(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	x := slices.Clone(xs)
	slices.Sort(x)
	return quantileSorted(x, p)
}

func quantileSorted(x []float64, p float64) float64 {
	h := float64(len(x)-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(x) {
		return x[len(x)-1]
	}
	return x[i] + (h-lo)*(x[i+1]-x[i])
}

// Quartiles returns the type-7 quartiles q1, q2, q3 of xs.
func Quartiles(xs []float64) [3]float64 {
	if len(xs) == 0 {
		return [3]float64{math.NaN(), math.NaN(), math.NaN()}
	}
	x := slices.Clone(xs)
	slices.Sort(x)
	return [3]float64{quantileSorted(x, 0.25), quantileSorted(x, 0.5), quantileSorted(x, 0.75)}
}

// Segment returns the number of cuts strictly below rate: 0, 1, 2 or 3.
func Segment(rate float64, cuts [3]float64) int {
	s := 0
	for _, c := range cuts {
		if c < rate {
			s++
		}
	}
	return s
}
