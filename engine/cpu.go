package engine

import (
	"math"
	"sync"

	"github.com/taskmatch/taskmatch/kernels"
)

func init() {
	RegisterBackend("cpu", func(int) (Backend, error) { return &CPU{}, nil })
}

// The CPU backend's methods are safe for concurrent use by different
// sequences: buffers belong to sequences, weights are read-only and the
// attention scratch is taken per call.

// CPU is the pure-Go backend: buffers are float32 slices and weights are
// used in place (memory-mapped or on the heap).
type CPU struct {
	scratch sync.Pool // of *attnScratch: per-call attention scores, reused
}

// attnScratch holds one score buffer per worker chunk of an Attention call.
// Sequences that run at once on one backend each take their own.
type attnScratch struct{ scores [][]float32 }

type cpuBuf []float32

func (b cpuBuf) Len() int { return len(b) }

type cpuMat struct{ m kernels.Mat }

func (m cpuMat) Rows() int { return m.m.Rows }
func (m cpuMat) Cols() int { return m.m.Cols }

func f32(b Buffer) []float32 { return b.(cpuBuf) }

// Name implements Backend.
func (*CPU) Name() string { return "cpu" }

// Alloc implements Backend.
func (*CPU) Alloc(n int) (Buffer, error) { return cpuBuf(make([]float32, n)), nil }

// View implements Backend.
func (*CPU) View(b Buffer, off, n int) Buffer { return cpuBuf(f32(b)[off : off+n : off+n]) }

// Upload implements Backend.
func (*CPU) Upload(dst Buffer, src []float32) { copy(f32(dst), src) }

// Download implements Backend.
func (*CPU) Download(dst []float32, src Buffer) { copy(dst, f32(src)) }

// Matrix implements Backend.
func (*CPU) Matrix(m kernels.Mat) (Matrix, error) { return cpuMat{m}, nil }

// Vector implements Backend.
func (*CPU) Vector(v []float32) (Buffer, error) { return cpuBuf(v), nil }

// Embed implements Backend.
func (*CPU) Embed(dst Buffer, table Matrix, ids []int) {
	m := table.(cpuMat).m
	d := f32(dst)
	for i, id := range ids {
		m.Row(id, d[i*m.Cols:(i+1)*m.Cols])
	}
}

// MatMul implements Backend.
func (*CPU) MatMul(dst, x Buffer, n int, w Matrix) {
	m := w.(cpuMat).m
	kernels.MatMul(f32(dst)[:n*m.Rows], f32(x)[:n*m.Cols], n, m)
}

// AddBias implements Backend.
func (*CPU) AddBias(x Buffer, n int, bias Buffer) {
	b := f32(bias)
	kernels.AddBias(f32(x)[:n*len(b)], n, b)
}

// RMSNorm implements Backend.
func (*CPU) RMSNorm(dst, x Buffer, n int, weight Buffer, eps float32) {
	w := f32(weight)
	kernels.RMSNorm(f32(dst)[:n*len(w)], f32(x)[:n*len(w)], w, n, eps)
}

// RoPE implements Backend.
func (*CPU) RoPE(x Buffer, n, heads, headDim int, pos []int, invFreq []float64) {
	kernels.RoPE(f32(x)[:n*heads*headDim], n, heads, headDim, pos, invFreq)
}

// Add implements Backend.
func (*CPU) Add(dst, src Buffer) { kernels.Add(f32(dst), f32(src)) }

// SiLUMul implements Backend.
func (*CPU) SiLUMul(gate, up Buffer) { kernels.SiLUMul(f32(gate), f32(up)) }

// Sync implements Backend.
func (*CPU) Sync() error { return nil }

// Close implements Backend.
func (*CPU) Close() error { return nil }

// Attention implements Backend. Work is split over (row, head) pairs; each
// worker chunk has its own score buffer.
func (c *CPU) Attention(out, q, keys, values Buffer, n, heads, kvHeads, headDim int, mask *Mask) {
	o, qs, ks, vs := f32(out), f32(q), f32(keys), f32(values)
	qdim, kvdim := heads*headDim, kvHeads*headDim
	group := heads / kvHeads
	scale := float32(1 / math.Sqrt(float64(headDim)))
	longest := 0
	for i := range n {
		longest = max(longest, mask.rows(i))
	}
	chunks := kernels.Threads()
	sc, _ := c.scratch.Get().(*attnScratch)
	if sc == nil {
		sc = &attnScratch{}
	}
	defer c.scratch.Put(sc)
	for len(sc.scores) < chunks {
		sc.scores = append(sc.scores, nil)
	}
	for i := range chunks {
		if cap(sc.scores[i]) < longest {
			sc.scores[i] = make([]float32, longest+longest/2)
		}
	}
	total := n * heads
	kernels.ParallelFor(chunks, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			scores := sc.scores[ch]
			for job := ch; job < total; job += chunks {
				i, h := job/heads, job%heads
				kvh := h / group
				qrow := qs[i*qdim+h*headDim : i*qdim+(h+1)*headDim]
				orow := o[i*qdim+h*headDim : i*qdim+(h+1)*headDim]
				sc := scores[:mask.rows(i)]
				// The cache rows this row attends to: the prefix, then its own.
				cacheRow := func(j int) int {
					if j < mask.Prefix {
						return j
					}
					return mask.Lo[i] + j - mask.Prefix
				}
				for j := range sc {
					r := cacheRow(j)
					sc[j] = kernels.Dot(qrow, ks[r*kvdim+kvh*headDim:r*kvdim+(kvh+1)*headDim]) * scale
				}
				kernels.Softmax(sc)
				clear(orow)
				for j := range sc {
					r := cacheRow(j)
					kernels.Axpy(sc[j], vs[r*kvdim+kvh*headDim:r*kvdim+(kvh+1)*headDim], orow)
				}
			}
		}
	})
}

var _ Backend = (*CPU)(nil)
