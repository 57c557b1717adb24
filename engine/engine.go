package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
	"github.com/taskmatch/taskmatch/tokenizer"
)

// Options says what Load loads and how it runs.
type Options struct {
	// Model is a Hugging Face checkpoint directory. Empty means the built-in
	// demo model: the real Qwen2 tokenizer with small random weights, whose
	// answers carry no meaning.
	Model string
	// Adapters are PEFT LoRA adapter directories, merged in order at load.
	Adapters []string
	// Device is "auto", "cpu" or "cuda"; empty means "auto".
	Device string
	// Threads is the number of CPU worker threads; 0 means one per core.
	Threads int
	// Context bounds the positions of one sequence (prompt plus the longest
	// option); 0 means the model's max_position_embeddings, at most 4096.
	Context int
	// Slots is the number of sequences kept at once, each with its own KV
	// cache; a request reuses the longest cached prompt prefix. 0 means 1.
	Slots int
	// Batch is the number of positions per forward step; 0 means 128.
	Batch int
	// MergedDType says how the matrices that adapters change are stored:
	// MergedF32 keeps them float32 (exactly what a float32 merge gives),
	// MergedBase rounds them back to the base weights' dtype (half the
	// memory for a bf16 base, about 1e-3 off in log-probabilities on the
	// test fixtures), MergedAuto (the default) keeps float32 when the copies
	// take at most half of the available memory.
	MergedDType string
	// TokenizerOptional lets a checkpoint without tokenizer files load; such
	// an engine runs token ids only (Logits, Perf), and Score fails.
	TokenizerOptional bool
}

// DemoSpec is the shape of the built-in demo model.
var DemoSpec = ckptgen.Spec{Arch: model.ArchQwen2, Hidden: 128, Intermediate: 352, Layers: 4,
	Heads: 4, KVHeads: 2, Vocab: 151936, Tied: true, RopeTheta: 1e6, Seed: 20261204}

// Engine is a loaded model with its tokenizer, ready to score prompts. It is
// safe for concurrent use; requests beyond Options.Slots wait for a free
// sequence.
type Engine struct {
	Config    *model.Config
	Tokenizer *tokenizer.Tokenizer
	Demo      bool     // the built-in demo model
	Adapters  []string // merged adapter directories
	Device    string   // where the layers run, e.g. "cpu"
	// DeviceNote says why "auto" chose Device, when that is worth logging.
	DeviceNote string
	// MergedDType is how adapter-changed matrices are stored ("f32" or
	// "base"; empty without adapters), and MergeNote why, for "auto".
	MergedDType, MergeNote string
	DType                  string // weight dtype, e.g. "BF16"

	weights *model.Weights
	ck      *model.Checkpoint
	net     *Net
	ctxLen  int

	mu    sync.Mutex
	free  []*Seq        // idle sequences
	avail chan struct{} // one token per idle sequence
	all   []*Seq
}

// Load opens a checkpoint (or makes the demo model), merges the adapters,
// places the layers and allocates the sequences.
func Load(opts Options) (*Engine, error) {
	e := &Engine{Demo: opts.Model == "", Adapters: opts.Adapters}
	kernels.SetThreads(opts.Threads)
	var err error
	if e.Demo {
		if len(opts.Adapters) > 0 {
			return nil, errors.New("engine: adapters need --model; the demo model takes none")
		}
		if e.Tokenizer, err = tokenizer.Qwen2Demo(); err != nil {
			return nil, err
		}
		if e.ck, err = DemoSpec.Checkpoint(); err != nil {
			return nil, err
		}
	} else {
		if e.Tokenizer, err = tokenizer.Load(opts.Model); err != nil {
			if !opts.TokenizerOptional || !errors.Is(err, tokenizer.ErrNotFound) {
				return nil, err
			}
			e.Tokenizer = nil
		}
		if e.ck, err = model.Open(opts.Model); err != nil {
			return nil, err
		}
	}
	e.Config = e.ck.Config
	if e.weights, err = model.Build(e.ck); err != nil {
		e.ck.Close()
		return nil, err
	}
	if e.MergedDType, e.MergeNote, err = mergeAdapters(e.weights, opts.Adapters, opts.MergedDType); err != nil {
		e.ck.Close()
		return nil, err
	}
	if e.Tokenizer != nil && e.Tokenizer.VocabSize() > e.Config.Vocab {
		e.ck.Close()
		return nil, fmt.Errorf("engine: tokenizer has %d tokens, model vocabulary only %d", e.Tokenizer.VocabSize(), e.Config.Vocab)
	}
	e.DType = e.weights.Embed.DType.String()
	pl, note, err := plan(opts.Device, e.Config)
	if err != nil {
		e.ck.Close()
		return nil, err
	}
	e.Device, e.DeviceNote = pl.Backends[0].Name(), note
	if e.net, err = NewNet(e.weights, pl); err != nil {
		e.ck.Close()
		return nil, err
	}
	e.ctxLen = opts.Context
	if e.ctxLen <= 0 {
		e.ctxLen = 4096
		if mp := e.Config.MaxPositions; mp > 0 && mp < e.ctxLen {
			e.ctxLen = mp
		}
	}
	if mp := e.Config.MaxPositions; mp > 0 && e.ctxLen > mp {
		e.ck.Close()
		return nil, fmt.Errorf("engine: a context of %d positions exceeds the model's max_position_embeddings (%d)", e.ctxLen, mp)
	}
	batch := opts.Batch
	if batch <= 0 {
		batch = 128
	}
	slots := max(opts.Slots, 1)
	est := EstimateMemory(e.Config, 0, e.ctxLen, slots, batch)
	if avail, ok := memAvailable(); ok && est.KVCache+est.Buffers > avail {
		e.ck.Close()
		return nil, fmt.Errorf("engine: %d slots of %d positions need %d MiB for the KV cache and buffers, %d MiB are available (lower --context or --slots)",
			slots, e.ctxLen, (est.KVCache+est.Buffers)>>20, avail>>20)
	}
	e.avail = make(chan struct{}, slots)
	for range slots {
		s, err := e.net.NewSeq(e.ctxLen, batch)
		if err != nil {
			e.ck.Close()
			return nil, err
		}
		e.free = append(e.free, s)
		e.all = append(e.all, s)
		e.avail <- struct{}{}
	}
	return e, nil
}

// plan chooses the backends for the layers. "auto" takes the GPUs that
// NVML finds when this build has a CUDA backend, else the CPU; note says
// why.
func plan(device string, c *model.Config) (pl Placement, note string, err error) {
	switch device {
	case "", "auto":
		gpus, gerr := DiscoverGPUs()
		switch {
		case gerr != nil:
			note = "no NVIDIA GPU found (" + gerr.Error() + "), running on the CPU"
		case len(gpus) == 0:
			note = "NVML lists no GPU, running on the CPU"
		default:
			if _, ok := backendFactory("cuda"); !ok {
				note = fmt.Sprintf("%d NVIDIA GPU(s) found, but this build has no CUDA backend: running on the CPU", len(gpus))
			}
		}
		device = "cpu"
	case "cpu":
	case "cuda":
		if _, ok := backendFactory("cuda"); !ok {
			return Placement{}, "", errors.New("engine: this build has no CUDA backend (use --device cpu or auto)")
		}
	default:
		return Placement{}, "", fmt.Errorf("engine: unknown device %q (want auto, cpu or cuda)", device)
	}
	b, err := newBackend(device, 0)
	if err != nil {
		return Placement{}, "", err
	}
	return Placement{Backends: []Backend{b}, Layers: []int{c.Layers}}, note, nil
}

// ContextLen is the number of positions a sequence can hold.
func (e *Engine) ContextLen() int { return e.ctxLen }

// Weights are the model's weights after merging adapters.
func (e *Engine) Weights() *model.Weights { return e.weights }

// acquire takes an idle sequence, preferring the one whose cached tokens
// share the longest prefix with ids.
func (e *Engine) acquire(ctx context.Context, ids []int) (*Seq, error) {
	select {
	case <-e.avail:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	best, bestLen := 0, -1
	for i, s := range e.free {
		if n := commonPrefix(s.Tokens(), ids); n > bestLen {
			best, bestLen = i, n
		}
	}
	s := e.free[best]
	e.free = append(e.free[:best], e.free[best+1:]...)
	return s, nil
}

func (e *Engine) release(s *Seq) {
	e.mu.Lock()
	e.free = append(e.free, s)
	e.mu.Unlock()
	e.avail <- struct{}{}
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// prefill brings s to hold exactly ids, reusing its cached prefix, and
// writes the logits after the last id into out (len vocab). At least the
// last token is always run again so that its logits are fresh.
func (s *Seq) prefill(ctx context.Context, ids []int, out []float32) error {
	keep := min(commonPrefix(s.Tokens(), ids), len(ids)-1)
	s.Truncate(keep)
	rest := ids[keep:]
	if err := s.Forward(ctx, rest, []int{len(rest) - 1}, [][]float32{out}); err != nil {
		s.Truncate(0)
		return err
	}
	return nil
}

// Logits runs ids from an empty context and returns the logits [vocab] after
// the last one.
func (e *Engine) Logits(ctx context.Context, ids []int) ([]float32, error) {
	if len(ids) == 0 {
		return nil, errors.New("engine: no tokens")
	}
	if len(ids) > e.ctxLen {
		return nil, fmt.Errorf("engine: %d tokens exceed the context of %d", len(ids), e.ctxLen)
	}
	s, err := e.acquire(ctx, ids)
	if err != nil {
		return nil, err
	}
	defer e.release(s)
	out := make([]float32, e.Config.Vocab)
	if err := s.prefill(ctx, ids, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Close releases the model's memory maps. The engine must not be used after.
func (e *Engine) Close() error {
	for _, p := range e.net.parts {
		p.b.Close()
	}
	return e.ck.Close()
}

// WeightBytes is the size of the model's weights as stored.
func (e *Engine) WeightBytes() int64 { return e.ck.WeightBytes() }

// Threads is the number of CPU worker threads in use.
func (e *Engine) Threads() int { return kernels.Threads() }
