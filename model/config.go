package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Supported architecture names, as written in config.json "architectures".
const (
	ArchQwen2 = "Qwen2ForCausalLM"
	ArchLlama = "LlamaForCausalLM"
)

// RopeScaling is the "llama3" frequency scaling of Llama 3.1 (rope_scaling in
// config.json). A nil *RopeScaling means plain RoPE.
type RopeScaling struct {
	Factor         float64 // divides the low frequencies
	LowFreqFactor  float64
	HighFreqFactor float64
	OriginalMaxPos int // original_max_position_embeddings
}

// Config is the part of a Hugging Face config.json that the engine uses.
// All sizes are counts of elements; HeadDim is derived as Hidden/Heads when
// the file does not give it.
type Config struct {
	Architecture string // ArchQwen2 or ArchLlama
	ModelType    string // "qwen2" or "llama"

	Hidden       int // hidden_size
	Intermediate int // intermediate_size
	Layers       int // num_hidden_layers
	Heads        int // num_attention_heads
	KVHeads      int // num_key_value_heads
	HeadDim      int // head_dim
	Vocab        int // vocab_size
	MaxPositions int // max_position_embeddings (0 when absent)

	RMSNormEps  float64
	RopeTheta   float64
	RopeScaling *RopeScaling

	TieEmbeddings bool // output layer is the embedding when lm_head.weight is absent
	QKVBias       bool // q_proj, k_proj and v_proj carry biases
	OBias         bool // o_proj carries a bias (Llama with attention_bias only)

	BOS        []int  // bos_token_id, as a list
	EOS        []int  // eos_token_id, as a list
	TorchDType string // torch_dtype, e.g. "bfloat16"
}

// rawConfig mirrors config.json. Pointers tell absent keys from zero values.
type rawConfig struct {
	Architectures         []string        `json:"architectures"`
	ModelType             string          `json:"model_type"`
	HiddenSize            int             `json:"hidden_size"`
	IntermediateSize      int             `json:"intermediate_size"`
	NumHiddenLayers       int             `json:"num_hidden_layers"`
	NumAttentionHeads     int             `json:"num_attention_heads"`
	NumKeyValueHeads      *int            `json:"num_key_value_heads"`
	HeadDim               *int            `json:"head_dim"`
	VocabSize             int             `json:"vocab_size"`
	MaxPositionEmbeddings int             `json:"max_position_embeddings"`
	RMSNormEps            *float64        `json:"rms_norm_eps"`
	RopeTheta             *float64        `json:"rope_theta"`
	RopeScaling           json.RawMessage `json:"rope_scaling"`
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings"`
	AttentionBias         *bool           `json:"attention_bias"`
	MLPBias               *bool           `json:"mlp_bias"`
	HiddenAct             string          `json:"hidden_act"`
	UseSlidingWindow      *bool           `json:"use_sliding_window"`
	SlidingWindow         *int            `json:"sliding_window"`
	BOSTokenID            json.RawMessage `json:"bos_token_id"`
	EOSTokenID            json.RawMessage `json:"eos_token_id"`
	TorchDType            string          `json:"torch_dtype"`
}

// LoadConfig reads dir/config.json.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}

// ParseConfig parses the contents of a config.json and checks that the
// engine supports everything it asks for.
func ParseConfig(data []byte) (*Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("model: config.json: %v", err)
	}
	if len(raw.Architectures) != 1 {
		return nil, fmt.Errorf("model: config.json: want exactly one architecture, got %q", raw.Architectures)
	}
	c := &Config{
		Architecture: raw.Architectures[0],
		ModelType:    raw.ModelType,
		Hidden:       raw.HiddenSize,
		Intermediate: raw.IntermediateSize,
		Layers:       raw.NumHiddenLayers,
		Heads:        raw.NumAttentionHeads,
		Vocab:        raw.VocabSize,
		MaxPositions: raw.MaxPositionEmbeddings,
		RMSNormEps:   1e-6,
		RopeTheta:    10000,
		TorchDType:   raw.TorchDType,
	}
	switch c.Architecture {
	case ArchQwen2:
		// Qwen2 always has q/k/v biases, whatever attention_bias says, and
		// never an o_proj bias.
		c.QKVBias = true
	case ArchLlama:
		if raw.AttentionBias != nil && *raw.AttentionBias {
			c.QKVBias, c.OBias = true, true
		}
		if raw.MLPBias != nil && *raw.MLPBias {
			return nil, fmt.Errorf("model: config.json: mlp_bias true is not supported")
		}
	default:
		return nil, fmt.Errorf("model: config.json: unsupported architecture %q (want %s or %s)",
			c.Architecture, ArchQwen2, ArchLlama)
	}
	if raw.HiddenAct != "" && raw.HiddenAct != "silu" {
		return nil, fmt.Errorf("model: config.json: unsupported hidden_act %q (want silu)", raw.HiddenAct)
	}
	if raw.UseSlidingWindow != nil && *raw.UseSlidingWindow {
		sw := 0
		if raw.SlidingWindow != nil {
			sw = *raw.SlidingWindow
		}
		if sw > 0 && (c.MaxPositions == 0 || sw < c.MaxPositions) {
			return nil, fmt.Errorf("model: config.json: sliding window attention (use_sliding_window, window %d) is not supported", sw)
		}
	}
	c.KVHeads = c.Heads
	if raw.NumKeyValueHeads != nil {
		c.KVHeads = *raw.NumKeyValueHeads
	}
	if raw.HeadDim != nil {
		c.HeadDim = *raw.HeadDim
	} else if c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	if raw.RMSNormEps != nil {
		c.RMSNormEps = *raw.RMSNormEps
	}
	if raw.RopeTheta != nil {
		c.RopeTheta = *raw.RopeTheta
	}
	if raw.TieWordEmbeddings != nil {
		c.TieEmbeddings = *raw.TieWordEmbeddings
	}
	var err error
	if c.RopeScaling, err = parseRopeScaling(raw.RopeScaling); err != nil {
		return nil, err
	}
	if c.BOS, err = parseTokenIDs("bos_token_id", raw.BOSTokenID); err != nil {
		return nil, err
	}
	if c.EOS, err = parseTokenIDs("eos_token_id", raw.EOSTokenID); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate() error {
	pos := []struct {
		name string
		v    int
	}{
		{"hidden_size", c.Hidden}, {"intermediate_size", c.Intermediate},
		{"num_hidden_layers", c.Layers}, {"num_attention_heads", c.Heads},
		{"num_key_value_heads", c.KVHeads}, {"head_dim", c.HeadDim}, {"vocab_size", c.Vocab},
	}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("model: config.json: %s must be positive, got %d", p.name, p.v)
		}
		if p.v > 1<<24 {
			return fmt.Errorf("model: config.json: %s %d is out of range", p.name, p.v)
		}
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("model: config.json: num_attention_heads %d is not a multiple of num_key_value_heads %d", c.Heads, c.KVHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("model: config.json: head_dim %d must be even for RoPE", c.HeadDim)
	}
	if !(c.RMSNormEps > 0) || math.IsInf(c.RMSNormEps, 0) {
		return fmt.Errorf("model: config.json: rms_norm_eps must be positive, got %v", c.RMSNormEps)
	}
	if !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0) {
		return fmt.Errorf("model: config.json: rope_theta must be positive, got %v", c.RopeTheta)
	}
	for _, id := range append(append([]int(nil), c.BOS...), c.EOS...) {
		if id < 0 || id >= c.Vocab {
			return fmt.Errorf("model: config.json: special token id %d outside the vocabulary (%d)", id, c.Vocab)
		}
	}
	return nil
}

func parseRopeScaling(data json.RawMessage) (*RopeScaling, error) {
	if len(data) == 0 || string(bytes.TrimSpace(data)) == "null" {
		return nil, nil
	}
	var rs struct {
		RopeType       string   `json:"rope_type"`
		Type           string   `json:"type"`
		Factor         *float64 `json:"factor"`
		LowFreqFactor  *float64 `json:"low_freq_factor"`
		HighFreqFactor *float64 `json:"high_freq_factor"`
		OriginalMaxPos *int     `json:"original_max_position_embeddings"`
	}
	if err := json.Unmarshal(data, &rs); err != nil {
		return nil, fmt.Errorf("model: config.json: rope_scaling: %v", err)
	}
	typ := rs.RopeType
	if typ == "" {
		typ = rs.Type
	}
	switch typ {
	case "default":
		return nil, nil
	case "llama3":
	default:
		return nil, fmt.Errorf("model: config.json: unsupported rope_scaling type %q (want llama3)", typ)
	}
	if rs.Factor == nil || rs.LowFreqFactor == nil || rs.HighFreqFactor == nil || rs.OriginalMaxPos == nil {
		return nil, fmt.Errorf("model: config.json: rope_scaling llama3 needs factor, low_freq_factor, high_freq_factor and original_max_position_embeddings")
	}
	s := &RopeScaling{Factor: *rs.Factor, LowFreqFactor: *rs.LowFreqFactor, HighFreqFactor: *rs.HighFreqFactor, OriginalMaxPos: *rs.OriginalMaxPos}
	if !(s.Factor > 0) || !(s.LowFreqFactor > 0) || !(s.HighFreqFactor > s.LowFreqFactor) || s.OriginalMaxPos <= 0 {
		return nil, fmt.Errorf("model: config.json: rope_scaling llama3 values out of range: %+v", *s)
	}
	return s, nil
}

// parseTokenIDs accepts a number, a list of numbers or null.
func parseTokenIDs(key string, data json.RawMessage) ([]int, error) {
	if len(data) == 0 || string(bytes.TrimSpace(data)) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(data, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(data, &many); err != nil {
		return nil, fmt.Errorf("model: config.json: %s must be a number or a list of numbers", key)
	}
	return many, nil
}

// ParamCount is the number of parameters the configuration implies.
func (c *Config) ParamCount() int64 {
	h, q, kv := int64(c.Hidden), int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim)
	per := h*q + 2*h*kv + q*h + 3*h*int64(c.Intermediate) + 2*h
	if c.QKVBias {
		per += q + 2*kv
	}
	if c.OBias {
		per += h
	}
	n := int64(c.Layers)*per + int64(c.Vocab)*h + h
	if !c.TieEmbeddings {
		n += int64(c.Vocab) * h
	}
	return n
}
