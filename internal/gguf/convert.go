package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// Options controls a conversion.
type Options struct {
	// Type is the element type of the 2-D weights: F32 (the default) or
	// BF16. Norm weights, biases and rope_freqs are always F32, as
	// llama.cpp's converter writes them.
	Type TensorType
	// Name goes into general.name; empty means the directory name.
	Name string
}

// file_type values (llama_ftype) for the two outputs.
const (
	fileTypeAllF32     = 0
	fileTypeMostlyBF16 = 32
)

// Convert builds a GGUF file from an opened checkpoint and the tokenizer
// files in its directory. The tensors keep pointing into ck's memory maps:
// write the result before closing ck.
func Convert(ck *model.Checkpoint, opt Options) (*File, error) {
	c := ck.Config
	if opt.Type != F32 && opt.Type != BF16 {
		return nil, fmt.Errorf("gguf: output type %v not supported (F32 or BF16)", opt.Type)
	}
	arch, pre := "qwen2", "qwen2"
	if c.Architecture == model.ArchLlama {
		arch, pre = "llama", "llama-bpe"
	}
	vocab, err := LoadVocab(ck.Dir, c.Vocab)
	if err != nil {
		return nil, err
	}

	f := &File{}
	f.Add("general.architecture", arch)
	name := opt.Name
	if name == "" {
		name = filepath.Base(ck.Dir)
	}
	f.Add("general.name", name)
	f.Add("general.alignment", uint32(DefaultAlignment))
	ft := uint32(fileTypeAllF32)
	if opt.Type == BF16 {
		ft = fileTypeMostlyBF16
	}
	f.Add("general.file_type", ft)
	addHyperparameters(f, arch, c)
	addTokenizer(f, pre, vocab, c)

	if err := addTensors(f, ck, arch, opt.Type); err != nil {
		return nil, err
	}
	return f, nil
}

// addHyperparameters writes the "<arch>." keys llama.cpp reads.
func addHyperparameters(f *File, arch string, c *model.Config) {
	ctx := c.MaxPositions
	if ctx == 0 {
		ctx = 32768
	}
	f.Add(arch+".block_count", uint32(c.Layers))
	f.Add(arch+".context_length", uint32(ctx))
	f.Add(arch+".embedding_length", uint32(c.Hidden))
	f.Add(arch+".feed_forward_length", uint32(c.Intermediate))
	f.Add(arch+".attention.head_count", uint32(c.Heads))
	f.Add(arch+".attention.head_count_kv", uint32(c.KVHeads))
	f.Add(arch+".attention.key_length", uint32(c.HeadDim))
	f.Add(arch+".attention.value_length", uint32(c.HeadDim))
	f.Add(arch+".rope.dimension_count", uint32(c.HeadDim))
	f.Add(arch+".rope.freq_base", float32(c.RopeTheta))
	f.Add(arch+".attention.layer_norm_rms_epsilon", float32(c.RMSNormEps))
	f.Add(arch+".vocab_size", uint32(c.Vocab))
	// Llama 3.1's rope scaling travels as the rope_freqs.weight tensor
	// (see ropeFreqs), not as rope.scaling.* keys: llama.cpp divides each
	// rotation frequency by that tensor's entry.
}

// addTokenizer writes the tokenizer.ggml.* keys for a byte-level BPE.
func addTokenizer(f *File, pre string, v *Vocab, c *model.Config) {
	f.Add("tokenizer.ggml.model", "gpt2")
	f.Add("tokenizer.ggml.pre", pre)
	f.Add("tokenizer.ggml.tokens", v.Tokens)
	f.Add("tokenizer.ggml.token_type", v.Types)
	f.Add("tokenizer.ggml.merges", v.Merges)

	// Ids from tokenizer_config.json win over config.json, as in
	// llama.cpp's converter.
	bos, eos := v.BOS, v.EOS
	if bos < 0 && len(c.BOS) > 0 {
		bos = c.BOS[0]
	}
	if eos < 0 && len(c.EOS) > 0 {
		eos = c.EOS[0]
	}
	if bos >= 0 {
		f.Add("tokenizer.ggml.bos_token_id", uint32(bos))
	}
	if eos >= 0 {
		f.Add("tokenizer.ggml.eos_token_id", uint32(eos))
	}
	addBOS := c.Architecture == model.ArchLlama
	if v.AddBOS != nil {
		addBOS = *v.AddBOS
	}
	f.Add("tokenizer.ggml.add_bos_token", addBOS)
}

// ggufName maps the per-layer checkpoint module names to GGUF names.
var ggufName = map[string]string{
	"input_layernorm":          "attn_norm",
	"self_attn.q_proj":         "attn_q",
	"self_attn.k_proj":         "attn_k",
	"self_attn.v_proj":         "attn_v",
	"self_attn.o_proj":         "attn_output",
	"post_attention_layernorm": "ffn_norm",
	"mlp.gate_proj":            "ffn_gate",
	"mlp.up_proj":              "ffn_up",
	"mlp.down_proj":            "ffn_down",
}

// layerOrder is the order of a layer's tensors in the output.
var layerOrder = []string{"input_layernorm", "self_attn.q_proj", "self_attn.k_proj",
	"self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm",
	"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}

// addTensors renames and adds every tensor. Missing required tensors are
// errors; tensors that nothing maps are errors too, so that a partial
// conversion cannot pass silently.
func addTensors(f *File, ck *model.Checkpoint, arch string, typ TensorType) error {
	c := ck.Config
	used := map[string]bool{}
	add := func(src, dst string, rows []int) error {
		t, ok := ck.Tensors[src]
		if !ok {
			return fmt.Errorf("gguf: checkpoint has no tensor %s", src)
		}
		used[src] = true
		f.AddTensor(fromCheckpoint(t, dst, typ, rows))
		return nil
	}
	optional := func(src, dst string, rows []int) error {
		if _, ok := ck.Tensors[src]; !ok {
			return nil
		}
		return add(src, dst, rows)
	}

	if err := add("model.embed_tokens.weight", "token_embd.weight", nil); err != nil {
		return err
	}
	if c.RopeScaling != nil {
		f.AddTensor(f32Tensor("rope_freqs.weight", ropeFreqs(c)))
	}
	for i := range c.Layers {
		for _, m := range layerOrder {
			src := fmt.Sprintf("model.layers.%d.%s", i, m)
			dst := fmt.Sprintf("blk.%d.%s", i, ggufName[m])
			rows := qkPermutation(arch, m, c)
			if err := add(src+".weight", dst+".weight", rows); err != nil {
				return err
			}
			if err := optional(src+".bias", dst+".bias", rows); err != nil {
				return err
			}
		}
	}
	if err := add("model.norm.weight", "output_norm.weight", nil); err != nil {
		return err
	}
	if err := optional("lm_head.weight", "output.weight", nil); err != nil {
		return err
	}
	for name := range ck.Tensors {
		if !used[name] {
			return fmt.Errorf("gguf: checkpoint tensor %s has no GGUF name", name)
		}
	}
	return nil
}

// qkPermutation returns, for Llama's q_proj and k_proj, the source row of
// each output row; nil elsewhere. Hugging Face stores each head's rows as
// [first halves of the rotated pairs, second halves] (rotate-half RoPE);
// llama.cpp's llama architecture rotates adjacent pairs, so row 2i+j of a
// head takes source row j*headDim/2 + i. Qwen2 uses rotate-half in
// llama.cpp too (NEOX mode) and needs no permutation.
func qkPermutation(arch, module string, c *model.Config) []int {
	if arch != "llama" {
		return nil
	}
	heads := 0
	switch module {
	case "self_attn.q_proj":
		heads = c.Heads
	case "self_attn.k_proj":
		heads = c.KVHeads
	default:
		return nil
	}
	d := c.HeadDim
	rows := make([]int, heads*d)
	for h := range heads {
		for i := range d / 2 {
			for j := range 2 {
				rows[h*d+2*i+j] = h*d + j*(d/2) + i
			}
		}
	}
	return rows
}

// ropeFreqs computes Llama 3.1's per-frequency divisors: 1 for short
// wavelengths, the scaling factor for long ones, and a smooth blend in
// between (the same bands as Hugging Face's llama3 rope initialisation,
// which multiplies inv_freq by the reciprocal).
func ropeFreqs(c *model.Config) []float32 {
	rs := c.RopeScaling
	d := c.HeadDim
	lowWavelen := float64(rs.OriginalMaxPos) / rs.LowFreqFactor
	highWavelen := float64(rs.OriginalMaxPos) / rs.HighFreqFactor
	out := make([]float32, d/2)
	for i := range out {
		freq := 1 / math.Pow(c.RopeTheta, float64(2*i)/float64(d))
		wavelen := 2 * math.Pi / freq
		switch {
		case wavelen < highWavelen:
			out[i] = 1
		case wavelen > lowWavelen:
			out[i] = float32(rs.Factor)
		default:
			smooth := (float64(rs.OriginalMaxPos)/wavelen - rs.LowFreqFactor) /
				(rs.HighFreqFactor - rs.LowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/rs.Factor + smooth))
		}
	}
	return out
}

// f32Tensor is a 1-D F32 tensor held in memory.
func f32Tensor(name string, x []float32) *Tensor {
	return &Tensor{Name: name, Dims: []uint64{uint64(len(x))}, Type: F32,
		Write: func(w io.Writer) error {
			buf := make([]byte, 4*len(x))
			for i, v := range x {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			_, err := w.Write(buf)
			return err
		}}
}

// fromCheckpoint describes a checkpoint tensor under a GGUF name. 1-D
// tensors are written as F32 whatever typ says. rows, when not nil, gives
// the source row of each output row of a 2-D tensor (or element of a 1-D
// one).
func fromCheckpoint(t *model.Tensor, name string, typ TensorType, rows []int) *Tensor {
	if len(t.Shape) < 2 {
		typ = F32
	}
	dims := make([]uint64, len(t.Shape))
	for i, d := range t.Shape {
		dims[len(dims)-1-i] = uint64(d)
	}
	rowLen := 1 // elements per output row: 1 for a 1-D tensor
	if len(t.Shape) >= 2 {
		rowLen = int(t.Elements()) / t.Shape[0]
	}
	return &Tensor{Name: name, Dims: dims, Type: typ, Write: func(w io.Writer) error {
		return writeConverted(w, t, typ, rowLen, rows)
	}}
}

// writeConverted streams t's elements converted to typ, row by row, in the
// order rows gives (identity when nil).
func writeConverted(w io.Writer, t *model.Tensor, typ TensorType, rowLen int, rows []int) error {
	src := t.DType.Size()
	nRows := int(t.Elements()) / rowLen
	const chunk = 1 << 16 // elements per write
	buf := make([]byte, 0, chunk*4+rowLen*4)
	for r := range nRows {
		sr := r
		if rows != nil {
			sr = rows[r]
		}
		in := t.Data[sr*rowLen*src : (sr+1)*rowLen*src]
		buf = appendConverted(buf, in, t.DType, typ)
		if len(buf) >= chunk*4 || r == nRows-1 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

// appendConverted appends the elements in (of type from) as type to.
func appendConverted(dst, in []byte, from kernels.DType, to TensorType) []byte {
	n := len(in) / from.Size()
	if from == kernels.F32 && to == F32 || from == kernels.BF16 && to == BF16 {
		return append(dst, in...)
	}
	for i := range n {
		var x float32
		switch from {
		case kernels.F32:
			x = math.Float32frombits(binary.LittleEndian.Uint32(in[4*i:]))
		case kernels.BF16:
			x = kernels.BF16ToF32(binary.LittleEndian.Uint16(in[2*i:]))
		case kernels.F16:
			x = kernels.F16ToF32(binary.LittleEndian.Uint16(in[2*i:]))
		}
		if to == F32 {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
		} else {
			dst = binary.LittleEndian.AppendUint16(dst, kernels.F32ToBF16(x))
		}
	}
	return dst
}
