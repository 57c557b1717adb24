package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/taskmatch/taskmatch/engine"
	"github.com/taskmatch/taskmatch/model"
	"github.com/taskmatch/taskmatch/tokenizer"
)

func init() {
	register("inspect", "describe a checkpoint (and adapters) and the memory serving it needs", runInspect)
}

// inspectReport is what inspect prints.
type inspectReport struct {
	Dir          string           `json:"dir"`
	Architecture string           `json:"architecture"`
	Layers       int              `json:"layers"`
	Hidden       int              `json:"hidden"`
	Intermediate int              `json:"intermediate"`
	Heads        int              `json:"heads"`
	KVHeads      int              `json:"kv_heads"`
	HeadDim      int              `json:"head_dim"`
	Vocab        int              `json:"vocab"`
	Tied         bool             `json:"tied_embeddings"`
	RopeTheta    float64          `json:"rope_theta"`
	RopeScaling  string           `json:"rope_scaling"`
	Params       int64            `json:"parameters"`
	DTypes       map[string]int   `json:"dtypes"` // tensors per dtype
	Files        []string         `json:"files"`
	WeightBytes  int64            `json:"weight_bytes"`
	Memory       engine.MemoryEst `json:"serving_memory"`
	Adapters     []any            `json:"adapters,omitempty"`
	Plan         *engine.Plan     `json:"gpu_plan,omitempty"`
	Tokenizer    string           `json:"tokenizer"`
}

func runInspect(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("inspect", stderr)
	modelDir := fs.String("model", "", "checkpoint directory (required)")
	var adapters multiFlag
	fs.Var(&adapters, "adapter", "PEFT LoRA adapter directory (repeatable)")
	ctxLen := fs.Int("context", 4096, "positions per sequence for the memory estimate")
	slots := fs.Int("slots", 1, "sequences kept at once for the memory estimate")
	asJSON := fs.Bool("json", false, "print JSON")
	gpus := fs.String("gpus", "", `plan the layers over GPUs: "auto" (the GPUs NVML finds) or e.g. "4x24GiB"`)
	if rc, ok := parseFlags(fs, args); !ok {
		return rc
	}
	if *modelDir == "" {
		return usagef(fs, "--model is required")
	}
	ck, err := model.Open(*modelDir)
	if err != nil {
		return failf(stderr, "inspect", "%v", err)
	}
	defer ck.Close()
	w, err := model.Build(ck)
	if err != nil {
		return failf(stderr, "inspect", "%v", err)
	}
	c := ck.Config
	r := inspectReport{Dir: *modelDir, Architecture: c.Architecture, Layers: c.Layers, Hidden: c.Hidden,
		Intermediate: c.Intermediate, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Vocab: c.Vocab,
		Tied: w.Tied, RopeTheta: c.RopeTheta, RopeScaling: "none", Params: c.ParamCount(),
		DTypes: map[string]int{}, Files: ck.Files, WeightBytes: ck.WeightBytes()}
	if c.RopeScaling != nil {
		r.RopeScaling = fmt.Sprintf("llama3 (factor %g)", c.RopeScaling.Factor)
	}
	for _, t := range ck.Tensors {
		r.DTypes[t.DType.String()]++
	}
	_, note, err := inspectTokenizer(*modelDir)
	if err != nil {
		return failf(stderr, "inspect", "the checkpoint cannot be served: %v", err)
	}
	r.Tokenizer = note
	extra := int64(0)
	for _, dir := range adapters {
		info, changed, err := adapterInfo(dir, w)
		if err != nil {
			return failf(stderr, "inspect", "%v", err)
		}
		r.Adapters = append(r.Adapters, info)
		extra += changed
	}
	ctx := min(*ctxLen, max(c.MaxPositions, 1))
	if c.MaxPositions == 0 {
		ctx = *ctxLen
	}
	r.Memory = engine.EstimateMemory(c, r.WeightBytes+extra, ctx, *slots, 128)
	if *gpus != "" {
		var devs []engine.GPU
		var err error
		if *gpus == "auto" {
			devs, err = engine.DiscoverGPUs()
		} else {
			devs, err = engine.ParseGPUs(*gpus)
		}
		if err != nil {
			return failf(stderr, "inspect", "%v", err)
		}
		layerBytes := int64(0)
		for _, m := range model.Modules {
			out, in := c.ModuleShape(m)
			layerBytes += int64(out) * int64(in) * int64(w.Layers[0].Q.W.DType.Size())
		}
		layerBytes += extra / int64(max(c.Layers, 1))
		embed := int64(c.Vocab) * int64(c.Hidden) * int64(w.Embed.DType.Size())
		// The last GPU holds the output layer, a copy of the embedding when tied.
		output := embed
		if r.Plan, err = engine.PlanLayers(c, layerBytes, embed, output, ctx, *slots, devs, 1<<30); err != nil {
			return failf(stderr, "inspect", "%v", err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return failf(stderr, "inspect", "%v", err)
		}
		return 0
	}
	printReport(stdout, &r)
	return 0
}

func printReport(w io.Writer, r *inspectReport) {
	var dt []string
	for k, v := range r.DTypes {
		dt = append(dt, fmt.Sprintf("%s x%d", k, v))
	}
	sort.Strings(dt)
	fmt.Fprintf(w, "checkpoint     %s\n", r.Dir)
	fmt.Fprintf(w, "architecture   %s\n", r.Architecture)
	fmt.Fprintf(w, "shape          %d layers, hidden %d, intermediate %d, %d heads / %d KV heads, head_dim %d, vocab %d\n",
		r.Layers, r.Hidden, r.Intermediate, r.Heads, r.KVHeads, r.HeadDim, r.Vocab)
	fmt.Fprintf(w, "rope           theta %g, scaling %s\n", r.RopeTheta, r.RopeScaling)
	fmt.Fprintf(w, "embeddings     tied %v\n", r.Tied)
	fmt.Fprintf(w, "parameters     %d (%.3g B)\n", r.Params, float64(r.Params)/1e9)
	fmt.Fprintf(w, "dtypes         %s\n", strings.Join(dt, ", "))
	fmt.Fprintf(w, "files          %s\n", strings.Join(r.Files, ", "))
	fmt.Fprintf(w, "weight bytes   %d (%s)\n", r.WeightBytes, human(r.WeightBytes))
	fmt.Fprintf(w, "tokenizer      %s\n", r.Tokenizer)
	m := r.Memory
	fmt.Fprintf(w, "serving memory %s = weights %s + KV cache %s (%d positions x %d slots) + buffers %s\n",
		human(m.Total), human(m.Weights), human(m.KVCache), m.Context, m.Slots, human(m.Buffers))
	if p := r.Plan; p != nil {
		for i, g := range p.GPUs {
			fmt.Fprintf(w, "gpu %d          %s: %d layers, %s of %s free (1 GiB reserved)\n",
				g.Index, g.Name, p.Layers[i], human(p.Bytes[i]), human(g.FreeBytes))
		}
	}
	for _, a := range r.Adapters {
		b, _ := json.Marshal(a)
		fmt.Fprintf(w, "adapter        %s\n", b)
	}
}

// inspectTokenizer loads the checkpoint's tokenizer and renders a one-message
// chat with its template, as serving will. A checkpoint without tokenizer
// files is described, not refused: it can still run token ids.
func inspectTokenizer(dir string) (*tokenizer.Tokenizer, string, error) {
	tok, err := tokenizer.Load(dir)
	if errors.Is(err, tokenizer.ErrNotFound) {
		return nil, "none (token ids only: logits and perf work, scoring does not)", nil
	}
	if err != nil {
		return nil, "", err
	}
	if _, err := tok.EncodeChat([]tokenizer.Message{{Role: "user", Content: "hello"}}, true); err != nil {
		return nil, "", err
	}
	eot := tok.EndOfTurn()
	var names []string
	for _, id := range eot {
		names = append(names, tok.Token(id))
	}
	return tok, fmt.Sprintf("%d tokens, chat template renders, end of turn %s", tok.VocabSize(), strings.Join(names, " ")), nil
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.2f %ciB", f, "KMGT"[i-1])
}
