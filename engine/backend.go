package engine

import (
	"fmt"
	"sort"
	"sync"

	"github.com/taskmatch/taskmatch/kernels"
)

// Buffer is a float32 array that lives on one backend's device. Shapes are
// given by the operations that use it (row-major, [rows, cols]).
type Buffer interface {
	// Len is the number of float32 elements.
	Len() int
}

// Matrix is a weight matrix [rows, cols] made resident on a backend.
type Matrix interface {
	Rows() int
	Cols() int
}

// Backend runs the operations of the forward pass on one device. The
// forward pass is written once against this interface; a backend for another
// kind of device implements the same operations. Operations on one backend
// run in order; methods need not be safe for concurrent use.
//
// All activations are float32. Shapes: n is a number of positions; dim, q
// and kv are row lengths as documented on each method.
type Backend interface {
	// Name identifies the device, e.g. "cpu" or "cuda:0".
	Name() string
	// Alloc returns a zeroed buffer of n elements.
	Alloc(n int) (Buffer, error)
	// View is elements [off, off+n) of b, sharing its memory.
	View(b Buffer, off, n int) Buffer
	// Upload copies src into dst[:len(src)].
	Upload(dst Buffer, src []float32)
	// Download copies src[:len(dst)] into dst.
	Download(dst []float32, src Buffer)
	// Matrix makes m resident on the device (the CPU uses it in place).
	Matrix(m kernels.Mat) (Matrix, error)
	// Vector makes v resident on the device.
	Vector(v []float32) (Buffer, error)

	// Embed writes row ids[i] of table [vocab, dim] to dst row i; dst [len(ids), dim].
	Embed(dst Buffer, table Matrix, ids []int)
	// MatMul computes dst = x w^T: dst [n, w.Rows()], x [n, w.Cols()].
	MatMul(dst, x Buffer, n int, w Matrix)
	// AddBias adds bias [dim] to every row of x [n, dim].
	AddBias(x Buffer, n int, bias Buffer)
	// RMSNorm writes x / rms(x) * weight row by row: x, dst [n, dim], weight [dim].
	RMSNorm(dst, x Buffer, n int, weight Buffer, eps float32)
	// RoPE rotates x [n, heads*headDim] in place; row i is at position pos[i].
	RoPE(x Buffer, n, heads, headDim int, pos []int, invFreq []float64)
	// Attention is grouped-query attention for n new rows: q [n,
	// heads*headDim], keys and values [ctx, kvHeads*headDim] (the cache,
	// already holding the new rows' keys and values), out [n, heads*headDim].
	// Row i attends to the cache rows mask selects for it, in order. Query
	// head h reads key/value head h / (heads/kvHeads).
	Attention(out, q, keys, values Buffer, n, heads, kvHeads, headDim int, mask *Mask)
	// Add computes dst += src element-wise.
	Add(dst, src Buffer)
	// SiLUMul computes gate = silu(gate) * up element-wise.
	SiLUMul(gate, up Buffer)
	// Sync waits for queued work (a no-op on the CPU).
	Sync() error
	// Close frees the backend's resources.
	Close() error
}

// Mask selects the cache rows that each new row attends to: the shared
// rows [0, Prefix), then the row's own rows Lo[i] through Hi[i] inclusive.
// Causal attention over one sequence whose new rows start at cache row
// start is Prefix 0, Lo[i] 0, Hi[i] start+i. Several options scored after
// one prompt in a single batch share the prompt as the prefix and each
// attend to their own rows, which gives exactly the numbers of scoring them
// one after the other.
type Mask struct {
	Prefix int
	Lo, Hi []int // [n]
}

// rows is the number of cache rows row i attends to.
func (m *Mask) rows(i int) int {
	return m.Prefix + m.Hi[i] - m.Lo[i] + 1
}

// BackendFactory creates a backend for device index i.
type BackendFactory func(i int) (Backend, error)

var (
	backendsMu sync.Mutex
	backends   = map[string]BackendFactory{}
)

// RegisterBackend makes a backend kind available by name ("cpu", "cuda").
// It panics if the name is taken.
func RegisterBackend(name string, f BackendFactory) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	if _, dup := backends[name]; dup {
		panic("engine: backend registered twice: " + name)
	}
	backends[name] = f
}

// Backends lists the registered backend kinds.
func Backends() []string {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	var names []string
	for n := range backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func backendFactory(kind string) (BackendFactory, bool) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	f, ok := backends[kind]
	return f, ok
}

func newBackend(kind string, i int) (Backend, error) {
	f, ok := backendFactory(kind)
	if !ok {
		return nil, fmt.Errorf("engine: no backend %q in this build (have %v)", kind, Backends())
	}
	return f(i)
}
