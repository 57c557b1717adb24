package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads is the number of goroutines, the caller included, that work on
// one ParallelFor or MatMul call.
var threads atomic.Int32

func init() { threads.Store(int32(runtime.NumCPU())) }

// SetThreads sets the number of goroutines, the calling one included, that
// MatMul and ParallelFor use for one call. k <= 0 means runtime.NumCPU().
// Worker goroutines are started as needed and never stopped; lowering k
// leaves the extra ones idle. k is capped at 1024.
func SetThreads(k int) {
	if k <= 0 {
		k = runtime.NumCPU()
	}
	k = min(k, 1024)
	threads.Store(int32(k))
}

// Threads returns the number of goroutines used for one MatMul or
// ParallelFor call, as set by SetThreads.
func Threads() int { return int(threads.Load()) }

// ParallelFor splits [0, n) into contiguous chunks, calls fn(lo, hi) for
// each chunk on the worker pool and the calling goroutine, and returns when
// all calls have returned. Chunks may run in any order and at the same
// time; fn must be safe for that and must not panic. ParallelFor may be
// called from inside fn. It panics if n is negative.
func ParallelFor(n int, fn func(lo, hi int)) {
	if n < 0 {
		panic("kernels: ParallelFor with negative n")
	}
	t := Threads()
	if n == 0 {
		return
	}
	if t == 1 || n == 1 {
		fn(0, n)
		return
	}
	// A few chunks per goroutine balance the load when one of them is
	// slowed down, at the cost of one compare-and-swap per chunk.
	chunks := min(n, 4*t)
	j := getJob()
	j.body = runFn
	j.fn = fn
	run(j, j.start(n, (n+chunks-1)/chunks), t)
}

// runFn is the job body of ParallelFor.
func runFn(j *job, lo, hi int, _ *scratch) { j.fn(lo, hi) }

// A job is one parallel call: [0, n) cut into chunks of step elements.
// Whoever takes chunk c (the caller or a helping worker) runs body on it.
//
// Jobs are recycled through the free list jobs as soon as their caller
// returns, even while requests for help with them still wait in
// workQueue. A request therefore names the use of the job it was sent for
// (its sequence number), and the word state packs that number with the
// chunk count and the next chunk to take:
//
//	state = seq<<32 | chunks<<16 | next
//
// A worker takes a chunk with one compare-and-swap on state, which fails
// when the job has moved on to another use. Once it holds a chunk that is
// not finished, the job cannot be reused, so the other fields are stable.
type job struct {
	state atomic.Uint64
	left  atomic.Int64  // chunks not finished yet
	done  chan struct{} // receives once, when left reaches 0

	n, step int
	body    func(j *job, lo, hi int, s *scratch)
	fn      func(lo, hi int) // ParallelFor's function
	mm      matMulArgs       // MatMul's operands
}

// maxChunks is the most chunks one job can have (16 bits of state).
const maxChunks = 1<<16 - 1

// request asks a worker to help with use seq of job j.
type request struct {
	j   *job
	seq uint32
}

// seqs numbers the uses of jobs.
var seqs atomic.Uint32

// start cuts [0, n) into chunks of step elements, step >= 1 and at most
// maxChunks chunks, and opens the job for a new use, whose number it
// returns.
func (j *job) start(n, step int) uint32 {
	chunks := (n + step - 1) / step
	if chunks > maxChunks {
		panic("kernels: too many chunks")
	}
	j.n, j.step = n, step
	j.left.Store(int64(chunks))
	seq := seqs.Add(1)
	j.state.Store(uint64(seq)<<32 | uint64(chunks)<<16)
	return seq
}

// work takes chunks of use seq of j until none are left.
func (j *job) work(seq uint32, s *scratch) {
	for {
		v := j.state.Load()
		c, chunks := int(v&0xffff), int(v>>16&0xffff)
		if uint32(v>>32) != seq || c >= chunks {
			return
		}
		if !j.state.CompareAndSwap(v, v+1) {
			continue
		}
		lo := c * j.step
		j.body(j, lo, min(lo+j.step, j.n), s)
		if j.left.Add(-1) == 0 {
			j.done <- struct{}{}
		}
	}
}

// run executes use seq of j on up to t goroutines: it asks t-1 workers for
// help, works on j itself, waits until every chunk is done and recycles j.
// The caller takes chunks too, so run finishes even when every worker is
// busy, including when it is called from inside another job.
func run(j *job, seq uint32, t int) {
	chunks := int(j.state.Load() >> 16 & 0xffff)
	helpers := min(t, chunks) - 1
	startWorkers(helpers)
	for range helpers {
		select {
		case workQueue <- request{j, seq}:
		default: // queue full: the others take this worker's share
		}
	}

	s := scratches.get(newScratch)
	j.work(seq, s)
	scratches.put(s)
	<-j.done

	j.fn = nil
	j.mm = matMulArgs{}
	jobs.put(j)
}

// workQueue carries requests for help to the workers. A request may wait
// in the queue after its job is finished; the worker then finds no chunk
// of that use left and goes on.
var workQueue = make(chan request, 256)

var (
	workersMu sync.Mutex
	nWorkers  atomic.Int32
)

// startWorkers makes sure at least k worker goroutines are running.
func startWorkers(k int) {
	if int(nWorkers.Load()) >= k {
		return
	}
	workersMu.Lock()
	defer workersMu.Unlock()
	for int(nWorkers.Load()) < k {
		go worker()
		nWorkers.Add(1)
	}
}

// worker serves help requests for the life of the program. Each worker
// owns its scratch space.
func worker() {
	s := new(scratch)
	for r := range workQueue {
		r.j.work(r.seq, s)
	}
}

// scratch is per-goroutine working memory, such as weight rows decoded to
// float32. It grows to the largest size asked for and is then reused.
type scratch struct {
	buf []float32
}

// floats returns scratch space for n float32 values. The contents are
// undefined.
func (s *scratch) floats(n int) []float32 {
	if cap(s.buf) < n {
		s.buf = make([]float32, n)
	}
	return s.buf[:n]
}

// scratches holds scratch space for callers that work on their own job.
var scratches freeList[scratch]

func newScratch() *scratch { return new(scratch) }

// freeList is a stack of reusable values. Unlike a sync.Pool it keeps its
// values across garbage collections, so the scratch buffers and jobs of a
// long-running server are allocated once.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
}

// get returns a value from the list, or a new one from alloc.
func (l *freeList[T]) get(alloc func() *T) *T {
	l.mu.Lock()
	if n := len(l.items); n > 0 {
		v := l.items[n-1]
		l.items = l.items[:n-1]
		l.mu.Unlock()
		return v
	}
	l.mu.Unlock()
	return alloc()
}

// put returns v to the list.
func (l *freeList[T]) put(v *T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

// jobs holds the jobs not in use; it grows to the largest number of
// concurrent calls.
var jobs freeList[job]

func newJob() *job { return &job{done: make(chan struct{}, 1)} }

func getJob() *job { return jobs.get(newJob) }
