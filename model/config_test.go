package model

import (
	"strings"
	"testing"
)

const qwenCfg = `{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_size":64,
"intermediate_size":160,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
"vocab_size":1000,"max_position_embeddings":32768,"rms_norm_eps":1e-6,"rope_theta":1000000.0,
"sliding_window":32768,"use_sliding_window":false,"tie_word_embeddings":true,
"bos_token_id":151643,"eos_token_id":151645,"torch_dtype":"bfloat16","hidden_act":"silu"}`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(strings.NewReplacer("151643", "1", "151645", "2").Replace(qwenCfg)))
	if err != nil {
		t.Fatal(err)
	}
	if c.HeadDim != 16 || c.KVHeads != 2 || !c.QKVBias || c.OBias || !c.TieEmbeddings || c.RMSNormEps != 1e-6 {
		t.Errorf("unexpected config %+v", c)
	}
	if c.BOS[0] != 1 || c.EOS[0] != 2 {
		t.Errorf("bos/eos %v %v", c.BOS, c.EOS)
	}
}

func TestParseConfigLlama(t *testing.T) {
	cfg := `{"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":160,
	"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":1000,
	"rms_norm_eps":1e-5,"rope_theta":500000.0,"head_dim":32,"eos_token_id":[1,8,9],"bos_token_id":0,
	"rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
	"original_max_position_embeddings":8192,"type":"llama3"}}`
	c, err := ParseConfig([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if c.HeadDim != 32 || c.QKVBias || c.TieEmbeddings || len(c.EOS) != 3 || c.RopeScaling == nil || c.RopeScaling.OriginalMaxPos != 8192 {
		t.Errorf("unexpected config %+v", c)
	}
	if out, in := c.ModuleShape("q_proj"); out != 128 || in != 64 {
		t.Errorf("q_proj shape %d x %d", out, in)
	}
}

func TestParseConfigErrors(t *testing.T) {
	base := strings.NewReplacer("151643", "1", "151645", "2").Replace(qwenCfg)
	for _, tc := range []struct{ name, from, to, want string }{
		{"arch", "Qwen2ForCausalLM", "MistralForCausalLM", "unsupported architecture"},
		{"rope type", `"rope_theta":1000000.0`, `"rope_theta":1e6,"rope_scaling":{"rope_type":"yarn","factor":4}`, "unsupported rope_scaling"},
		{"sliding", `"sliding_window":32768,"use_sliding_window":false`, `"sliding_window":4096,"use_sliding_window":true`, "sliding window"},
		{"heads", `"num_key_value_heads":2`, `"num_key_value_heads":3`, "not a multiple"},
		{"act", `"silu"`, `"gelu"`, "hidden_act"},
		{"json", `{"architectures"`, `{"architectures":`, "config.json"},
		{"zero", `"hidden_size":64`, `"hidden_size":0`, "hidden_size must be positive"},
		{"bos range", `"bos_token_id":1`, `"bos_token_id":5000`, "outside the vocabulary"},
		{"eos type", `"eos_token_id":2`, `"eos_token_id":"x"`, "eos_token_id"},
		{"llama3 fields", `"rope_theta":1000000.0`, `"rope_theta":1e6,"rope_scaling":{"rope_type":"llama3","factor":8}`, "needs factor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(strings.Replace(base, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
