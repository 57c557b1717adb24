// Package ckptgen makes Hugging Face checkpoints of any shape with
// deterministic random weights: config.json and (optionally sharded)
// safetensors in the exact on-disk format. Tests, benchmarks and the demo
// model use it in place of real weights, which cannot be downloaded here.
package ckptgen

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// Spec describes a checkpoint to generate.
type Spec struct {
	Arch         string // model.ArchQwen2 or model.ArchLlama
	Hidden       int
	Intermediate int
	Layers       int
	Heads        int
	KVHeads      int
	Vocab        int
	Tied         bool
	RopeTheta    float64
	Llama3Rope   bool   // add Llama 3.1's rope_scaling
	DType        string // "BF16" (default), "F16" or "F32"
	Shards       int    // number of safetensors files; 0 or 1 means one
	Seed         uint64
	MaxPositions int // 0 means 32768
}

// Qwen2_0_5B is the shape of Qwen2-0.5B (bf16, tied embeddings).
var Qwen2_0_5B = Spec{Arch: model.ArchQwen2, Hidden: 896, Intermediate: 4864, Layers: 24,
	Heads: 14, KVHeads: 2, Vocab: 151936, Tied: true, RopeTheta: 1e6}

// Tiny is a very small Qwen2 shape for fast tests.
var Tiny = Spec{Arch: model.ArchQwen2, Hidden: 64, Intermediate: 160, Layers: 2,
	Heads: 4, KVHeads: 2, Vocab: 151936, Tied: true, RopeTheta: 1e6}

// ConfigJSON renders the spec as a config.json.
func (s Spec) ConfigJSON() []byte {
	mt := "qwen2"
	if s.Arch == model.ArchLlama {
		mt = "llama"
	}
	maxPos := s.MaxPositions
	if maxPos == 0 {
		maxPos = 32768
	}
	theta := s.RopeTheta
	if theta == 0 {
		theta = 1e6
	}
	c := map[string]any{
		"architectures":           []string{s.Arch},
		"model_type":              mt,
		"hidden_size":             s.Hidden,
		"intermediate_size":       s.Intermediate,
		"num_hidden_layers":       s.Layers,
		"num_attention_heads":     s.Heads,
		"num_key_value_heads":     s.KVHeads,
		"vocab_size":              s.Vocab,
		"max_position_embeddings": maxPos,
		"rms_norm_eps":            1e-6,
		"rope_theta":              theta,
		"tie_word_embeddings":     s.Tied,
		"hidden_act":              "silu",
		"torch_dtype":             map[string]string{"F32": "float32", "F16": "float16"}[s.DType],
		"bos_token_id":            min(151643, s.Vocab-1),
		"eos_token_id":            min(151645, s.Vocab-1),
	}
	if c["torch_dtype"] == "" {
		c["torch_dtype"] = "bfloat16"
	}
	if s.Arch == model.ArchQwen2 {
		c["use_sliding_window"] = false
		c["sliding_window"] = maxPos
	} else {
		c["attention_bias"] = false
		c["rms_norm_eps"] = 1e-5
	}
	if s.Llama3Rope {
		c["rope_scaling"] = map[string]any{"rope_type": "llama3", "factor": 8.0,
			"low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
	}
	out, _ := json.MarshalIndent(c, "", "  ")
	return out
}

// Tensor is a generated tensor: name, shape and float32 values.
type Tensor struct {
	Name   string
	Shape  []int
	Values []float32
}

// Tensors generates the spec's tensors in checkpoint order: matrices ~
// N(0, 0.02), norm weights ~ 1 + N(0, 0.05), biases ~ N(0, 0.1).
func (s Spec) Tensors() []Tensor {
	r := rand.New(rand.NewPCG(s.Seed, 0x7a5c))
	hd := s.Hidden / s.Heads
	q, kv := s.Heads*hd, s.KVHeads*hd
	gen := func(name string, std, mean float64, shape ...int) Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*r.NormFloat64())
		}
		return Tensor{Name: name, Shape: shape, Values: v}
	}
	ts := []Tensor{gen("model.embed_tokens.weight", 0.02, 0, s.Vocab, s.Hidden)}
	for i := range s.Layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts,
			gen(p+"input_layernorm.weight", 0.05, 1, s.Hidden),
			gen(p+"self_attn.q_proj.weight", 0.02, 0, q, s.Hidden),
			gen(p+"self_attn.k_proj.weight", 0.02, 0, kv, s.Hidden),
			gen(p+"self_attn.v_proj.weight", 0.02, 0, kv, s.Hidden),
		)
		if s.Arch == model.ArchQwen2 {
			ts = append(ts,
				gen(p+"self_attn.q_proj.bias", 0.1, 0, q),
				gen(p+"self_attn.k_proj.bias", 0.1, 0, kv),
				gen(p+"self_attn.v_proj.bias", 0.1, 0, kv))
		}
		ts = append(ts,
			gen(p+"self_attn.o_proj.weight", 0.02, 0, s.Hidden, q),
			gen(p+"post_attention_layernorm.weight", 0.05, 1, s.Hidden),
			gen(p+"mlp.gate_proj.weight", 0.02, 0, s.Intermediate, s.Hidden),
			gen(p+"mlp.up_proj.weight", 0.02, 0, s.Intermediate, s.Hidden),
			gen(p+"mlp.down_proj.weight", 0.02, 0, s.Hidden, s.Intermediate))
	}
	ts = append(ts, gen("model.norm.weight", 0.05, 1, s.Hidden))
	if !s.Tied {
		ts = append(ts, gen("lm_head.weight", 0.02, 0, s.Vocab, s.Hidden))
	}
	return ts
}

func dtypeOf(name string) kernels.DType {
	switch name {
	case "F32":
		return kernels.F32
	case "F16":
		return kernels.F16
	}
	return kernels.BF16
}

// Encode stores values in dtype as little-endian bytes.
func Encode(values []float32, dt kernels.DType) []byte {
	out := make([]byte, len(values)*dt.Size())
	for i, v := range values {
		switch dt {
		case kernels.F32:
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		case kernels.F16:
			binary.LittleEndian.PutUint16(out[2*i:], kernels.F32ToF16(v))
		default:
			binary.LittleEndian.PutUint16(out[2*i:], kernels.F32ToBF16(v))
		}
	}
	return out
}

// Checkpoint builds the spec's checkpoint in memory (no files), ready for
// model.Build.
func (s Spec) Checkpoint() (*model.Checkpoint, error) {
	cfg, err := model.ParseConfig(s.ConfigJSON())
	if err != nil {
		return nil, err
	}
	dt := dtypeOf(s.DType)
	ck := &model.Checkpoint{Config: cfg, Tensors: map[string]*model.Tensor{}}
	for _, t := range s.Tensors() {
		data := Encode(t.Values, dt)
		ck.Tensors[t.Name] = &model.Tensor{
			TensorInfo: model.TensorInfo{Name: t.Name, DType: dt, Shape: t.Shape, End: int64(len(data))},
			Data:       data,
		}
	}
	return ck, nil
}

// Write writes config.json, generation_config.json and the safetensors
// files (with model.safetensors.index.json when sharded) to dir.
func (s Spec) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), s.ConfigJSON(), 0o644); err != nil {
		return err
	}
	gen := `{"bos_token_id": 151643, "eos_token_id": 151645}`
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(gen), 0o644); err != nil {
		return err
	}
	ts := s.Tensors()
	dt := dtypeOf(s.DType)
	shards := max(s.Shards, 1)
	if shards == 1 {
		named := make([]NamedBytes, len(ts))
		for i, t := range ts {
			named[i] = NamedBytes{Name: t.Name, DType: dt, Shape: t.Shape, Data: Encode(t.Values, dt)}
		}
		return WriteSafetensors(filepath.Join(dir, "model.safetensors"), named, nil)
	}
	per := (len(ts) + shards - 1) / shards
	weightMap := map[string]string{}
	var total int64
	for k := range shards {
		file := fmt.Sprintf("model-%05d-of-%05d.safetensors", k+1, shards)
		var named []NamedBytes
		for _, t := range ts[min(k*per, len(ts)):min((k+1)*per, len(ts))] {
			b := Encode(t.Values, dt)
			total += int64(len(b))
			named = append(named, NamedBytes{Name: t.Name, DType: dt, Shape: t.Shape, Data: b})
			weightMap[t.Name] = file
		}
		if err := WriteSafetensors(filepath.Join(dir, file), named, nil); err != nil {
			return err
		}
	}
	idx, _ := json.MarshalIndent(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}, "", "  ")
	return os.WriteFile(filepath.Join(dir, model.IndexFile), idx, 0o644)
}

// NamedBytes is one tensor to write: its raw little-endian bytes in DType.
type NamedBytes struct {
	Name  string
	DType kernels.DType
	Shape []int
	Data  []byte
}

// WriteSafetensors writes tensors to path in the safetensors format, in the
// given order, with the header padded to a multiple of 8 bytes.
func WriteSafetensors(path string, tensors []NamedBytes, metadata map[string]string) error {
	header := map[string]any{}
	if metadata != nil {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = map[string]any{"dtype": t.DType.String(), "shape": shape,
			"data_offsets": []int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(len(hj)))
	if _, err := f.Write(lenb[:]); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(hj); err != nil {
		f.Close()
		return err
	}
	for _, t := range tensors {
		if _, err := f.Write(t.Data); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// SortedNames returns the names of a tensor map in order, for writers that
// need a stable layout.
func SortedNames[T any](m map[string]T) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
