package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sizes are the lengths most kernels are tested at: odd and even, below and
// above the unrolling widths of the micro-kernels.
var sizes = []int{1, 2, 3, 7, 8, 9, 64, 130, 897}

// newRand returns a seeded generator, so that failures reproduce.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6b65726e656c73)) }

// randSlice returns n values uniform in [-1, 1).
func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// near reports whether got is within tol of want, relative to max(1, |want|).
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// checkClose fails t for each element of got not within tol of want.
func checkClose(t *testing.T, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("length %d, want %d", len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !near(float64(got[i]), want[i], tol) {
			if bad < 5 {
				t.Errorf("[%d] = %.9g, want %.9g (tol %g)", i, got[i], want[i], tol)
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("... %d mismatches in all", bad)
	}
}

// mustPanic fails t unless f panics with a message starting "kernels: ".
func mustPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		s, ok := r.(string)
		if !ok || len(s) < 9 || s[:9] != "kernels: " {
			t.Errorf("panic value %#v, want a string starting %q", r, "kernels: ")
		}
	}()
	f()
}

// forEachImplementation runs f as a subtest named after each implementation
// this machine can run (the assembly kernels if any, and always the
// portable ones), with that implementation in use.
func forEachImplementation(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, im := range implementations {
		t.Run(im.name, func(t *testing.T) {
			defer useImplementation(useImplementation(im))
			f(t)
		})
	}
}

// benchImplementations is forEachImplementation for benchmarks, so that
// one run reports the speed of every implementation side by side.
func benchImplementations(b *testing.B, f func(b *testing.B)) {
	b.Helper()
	for _, im := range implementations {
		b.Run(im.name, func(b *testing.B) {
			defer useImplementation(useImplementation(im))
			f(b)
		})
	}
}
