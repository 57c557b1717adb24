package model

import (
	"fmt"
	"slices"
	"strings"

	"github.com/taskmatch/taskmatch/kernels"
)

// Linear is a linear layer y = x W^T + b. W is [out, in], used in place;
// Bias is [out] or nil.
type Linear struct {
	W    kernels.Mat
	Bias []float32
}

// Layer holds the weights of one decoder layer. hidden = Config.Hidden,
// q = Heads*HeadDim, kv = KVHeads*HeadDim, inter = Config.Intermediate.
type Layer struct {
	AttnNorm []float32 // input_layernorm [hidden]
	Q        Linear    // q_proj [q, hidden], bias [q] on Qwen2
	K        Linear    // k_proj [kv, hidden]
	V        Linear    // v_proj [kv, hidden]
	O        Linear    // o_proj [hidden, q]
	MLPNorm  []float32 // post_attention_layernorm [hidden]
	Gate     Linear    // mlp.gate_proj [inter, hidden]
	Up       Linear    // mlp.up_proj [inter, hidden]
	Down     Linear    // mlp.down_proj [hidden, inter]
}

// Weights is a whole model, ready for the forward pass.
type Weights struct {
	Config *Config
	Embed  kernels.Mat // model.embed_tokens [vocab, hidden]
	Layers []Layer
	Norm   []float32   // model.norm [hidden]
	Output kernels.Mat // lm_head [vocab, hidden]; the embedding when tied
	Tied   bool        // Output shares Embed's memory
}

// Modules lists the linear modules of a decoder layer by their checkpoint
// names, in checkpoint order.
var Modules = []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

// ModulePath is the checkpoint prefix of a module of layer i, e.g.
// "model.layers.3.self_attn.q_proj".
func ModulePath(i int, module string) string {
	switch module {
	case "gate_proj", "up_proj", "down_proj":
		return fmt.Sprintf("model.layers.%d.mlp.%s", i, module)
	}
	return fmt.Sprintf("model.layers.%d.self_attn.%s", i, module)
}

// Module returns layer i's linear module by checkpoint name ("q_proj", ...).
func (w *Weights) Module(i int, module string) (*Linear, bool) {
	if i < 0 || i >= len(w.Layers) {
		return nil, false
	}
	l := &w.Layers[i]
	switch module {
	case "q_proj":
		return &l.Q, true
	case "k_proj":
		return &l.K, true
	case "v_proj":
		return &l.V, true
	case "o_proj":
		return &l.O, true
	case "gate_proj":
		return &l.Gate, true
	case "up_proj":
		return &l.Up, true
	case "down_proj":
		return &l.Down, true
	}
	return nil, false
}

// ModuleShape is the [out, in] shape of a linear module.
func (c *Config) ModuleShape(module string) (out, in int) {
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	switch module {
	case "q_proj":
		return q, c.Hidden
	case "k_proj", "v_proj":
		return kv, c.Hidden
	case "o_proj":
		return c.Hidden, q
	case "gate_proj", "up_proj":
		return c.Intermediate, c.Hidden
	case "down_proj":
		return c.Hidden, c.Intermediate
	}
	return 0, 0
}

// HasBias says whether the architecture gives module a bias.
func (c *Config) HasBias(module string) bool {
	switch module {
	case "q_proj", "k_proj", "v_proj":
		return c.QKVBias
	case "o_proj":
		return c.OBias
	}
	return false
}

// ignorable tensors are present in some checkpoints and not used.
func ignorable(name string) bool {
	return strings.HasSuffix(name, ".rotary_emb.inv_freq")
}

// Build maps the checkpoint's tensors to Weights, checking that every tensor
// the architecture needs is present with the shape the config implies and
// that no unexpected tensor is left over. Matrices stay in the memory map.
func Build(ck *Checkpoint) (*Weights, error) {
	c := ck.Config
	used := map[string]bool{}
	get := func(name string, shape ...int) (*Tensor, error) {
		t, ok := ck.Tensors[name]
		if !ok {
			return nil, fmt.Errorf("model: missing tensor %q", name)
		}
		if !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("model: tensor %q has shape %v, want %v", name, t.Shape, shape)
		}
		used[name] = true
		return t, nil
	}
	mat := func(name string, rows, cols int) (kernels.Mat, error) {
		t, err := get(name, rows, cols)
		if err != nil {
			return kernels.Mat{}, err
		}
		return t.Mat(), nil
	}
	vec := func(name string, n int) ([]float32, error) {
		t, err := get(name, n)
		if err != nil {
			return nil, err
		}
		return t.Floats(), nil
	}

	w := &Weights{Config: c, Layers: make([]Layer, c.Layers)}
	var err error
	if w.Embed, err = mat("model.embed_tokens.weight", c.Vocab, c.Hidden); err != nil {
		return nil, err
	}
	if w.Norm, err = vec("model.norm.weight", c.Hidden); err != nil {
		return nil, err
	}
	_, hasHead := ck.Tensors["lm_head.weight"]
	switch {
	case c.TieEmbeddings:
		// Hugging Face ties lm_head to the embedding; a stored copy is
		// accepted and ignored.
		w.Output, w.Tied = w.Embed, true
		if hasHead {
			if _, err := get("lm_head.weight", c.Vocab, c.Hidden); err != nil {
				return nil, err
			}
		}
	case hasHead:
		if w.Output, err = mat("lm_head.weight", c.Vocab, c.Hidden); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("model: missing tensor %q (config says tie_word_embeddings is false)", "lm_head.weight")
	}

	for i := range w.Layers {
		l := &w.Layers[i]
		p := fmt.Sprintf("model.layers.%d.", i)
		if l.AttnNorm, err = vec(p+"input_layernorm.weight", c.Hidden); err != nil {
			return nil, err
		}
		if l.MLPNorm, err = vec(p+"post_attention_layernorm.weight", c.Hidden); err != nil {
			return nil, err
		}
		for _, m := range Modules {
			lin, _ := w.Module(i, m)
			out, in := c.ModuleShape(m)
			base := ModulePath(i, m)
			if lin.W, err = mat(base+".weight", out, in); err != nil {
				return nil, err
			}
			if c.HasBias(m) {
				if lin.Bias, err = vec(base+".bias", out); err != nil {
					return nil, err
				}
			}
		}
	}
	var extra []string
	for name := range ck.Tensors {
		if !used[name] && !ignorable(name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return nil, fmt.Errorf("model: unexpected tensor %q (%d unexpected in all)", extra[0], len(extra))
	}
	return w, nil
}
