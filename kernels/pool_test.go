package kernels

import (
	"fmt"
	"sync/atomic"
	"testing"
)

func TestParallelFor(t *testing.T) {
	threads := Threads()
	defer SetThreads(threads)
	for _, th := range []int{1, 2, 5} {
		for _, n := range []int{0, 1, 2, 7, 64, 130, 10007} {
			t.Run(fmt.Sprintf("threads=%d/n=%d", th, n), func(t *testing.T) {
				SetThreads(th)
				hits := make([]atomic.Int32, n)
				ParallelFor(n, func(lo, hi int) {
					if lo >= hi {
						t.Errorf("empty chunk [%d, %d)", lo, hi)
					}
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if h := hits[i].Load(); h != 1 {
						t.Fatalf("index %d visited %d times", i, h)
					}
				}
			})
		}
	}
}

// TestParallelForNested checks that ParallelFor called from inside a chunk
// finishes, even with more nested calls than workers.
func TestParallelForNested(t *testing.T) {
	threads := Threads()
	defer SetThreads(threads)
	SetThreads(3)
	var sum atomic.Int64
	ParallelFor(16, func(lo, hi int) {
		for range hi - lo {
			ParallelFor(100, func(lo, hi int) { sum.Add(int64(hi - lo)) })
		}
	})
	if got := sum.Load(); got != 1600 {
		t.Errorf("sum = %d, want 1600", got)
	}
}

func TestSetThreads(t *testing.T) {
	threads := Threads()
	defer SetThreads(threads)
	SetThreads(3)
	if got := Threads(); got != 3 {
		t.Errorf("Threads() = %d after SetThreads(3)", got)
	}
	SetThreads(0)
	if got := Threads(); got < 1 {
		t.Errorf("Threads() = %d after SetThreads(0)", got)
	}
	mustPanic(t, func() { ParallelFor(-1, func(int, int) {}) })
}

func BenchmarkParallelFor(b *testing.B) {
	var sink atomic.Int64
	fn := func(lo, hi int) { sink.Add(int64(hi - lo)) }
	b.ReportAllocs()
	for b.Loop() {
		ParallelFor(64, fn)
	}
}
