package lora

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func parse(t *testing.T, cfg map[string]any) *Config {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestScale(t *testing.T) {
	for _, tc := range []struct {
		r      int
		alpha  float64
		rslora bool
		want   float64
	}{
		{8, 16, false, 2.0},
		{8, 16, true, 5.657},
		{16, 16, false, 1.0},
		{16, 16, true, 4.0},
	} {
		cfg := defaultConfig()
		cfg["r"], cfg["lora_alpha"], cfg["use_rslora"] = tc.r, tc.alpha, tc.rslora
		c := parse(t, cfg)
		got := c.Scale("model.layers.0.self_attn.q_proj")
		if math.Abs(got-tc.want) > 5e-4 {
			t.Errorf("r %d alpha %v rslora %v: scale %v, want %v", tc.r, tc.alpha, tc.rslora, got, tc.want)
		}
	}
}

func TestPatterns(t *testing.T) {
	// Key order matters: the first matching key wins, as in PEFT.
	cfg := defaultConfig()
	raw := `{"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":["q_proj","v_proj","down_proj"],
		"rank_pattern":{"model.layers.1.self_attn.q_proj":4,"q_proj":16,"layers\\.[0-9]+\\.mlp\\.down_proj":2},
		"alpha_pattern":{"v_proj":32,"proj":64}}`
	c, err := ParseConfig([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	_ = cfg
	for _, tc := range []struct {
		module string
		r      int
		alpha  float64
		scale  float64
	}{
		{"model.layers.0.self_attn.q_proj", 16, 16, 1},
		{"model.layers.1.self_attn.q_proj", 4, 16, 4},
		{"model.layers.0.self_attn.v_proj", 8, 32, 4},
		{"model.layers.0.self_attn.k_proj", 8, 16, 2}, // "proj" must follow a dot
		{"model.layers.3.mlp.down_proj", 2, 16, 8},
		{"model.layers.3.mlp.up_proj", 8, 16, 2},
	} {
		if r, a, s := c.Rank(tc.module), c.LoraAlpha(tc.module), c.Scale(tc.module); r != tc.r || a != tc.alpha || s != tc.scale {
			t.Errorf("%s: rank %d alpha %v scale %v, want %d %v %v", tc.module, r, a, s, tc.r, tc.alpha, tc.scale)
		}
	}
	if len(c.RankPattern) != 3 || c.RankPattern[0].Key != "model.layers.1.self_attn.q_proj" {
		t.Errorf("rank_pattern order lost: %+v", c.RankPattern)
	}
}

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		name string
		json string
		yes  []string
		no   []string
	}{
		{"list", `{"target_modules":["q_proj","mlp.up_proj"]}`,
			[]string{"model.layers.0.self_attn.q_proj", "model.layers.5.mlp.up_proj"},
			[]string{"model.layers.0.self_attn.k_proj", "model.layers.0.mlp.gate_proj"}},
		{"full name", `{"target_modules":["model.layers.1.self_attn.v_proj"]}`,
			[]string{"model.layers.1.self_attn.v_proj"}, []string{"model.layers.0.self_attn.v_proj"}},
		{"regex fullmatch", `{"target_modules":".*\\.(q|v)_proj"}`,
			[]string{"model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.v_proj"},
			[]string{"model.layers.0.self_attn.k_proj"}},
		{"regex is anchored", `{"target_modules":"q_proj"}`, nil, []string{"model.layers.0.self_attn.q_proj"}},
		{"layers_to_transform", `{"target_modules":["q_proj"],"layers_to_transform":[1]}`,
			[]string{"model.layers.1.self_attn.q_proj"}, []string{"model.layers.0.self_attn.q_proj"}},
		{"layers_to_transform int", `{"target_modules":["q_proj"],"layers_to_transform":0}`,
			[]string{"model.layers.0.self_attn.q_proj"}, []string{"model.layers.10.self_attn.q_proj"}},
		{"exclude", `{"target_modules":["q_proj","k_proj"],"exclude_modules":["model.layers.0.self_attn.k_proj"]}`,
			[]string{"model.layers.1.self_attn.k_proj"}, []string{"model.layers.0.self_attn.k_proj"}},
		{"all-linear", `{"target_modules":"all-linear"}`,
			[]string{"model.layers.0.mlp.down_proj"}, []string{"lm_head"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tc.yes {
				if !c.Targets(m) {
					t.Errorf("%s not targeted", m)
				}
			}
			for _, m := range tc.no {
				if c.Targets(m) {
					t.Errorf("%s targeted", m)
				}
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		json, want string
	}{
		{`{"peft_type":"IA3","target_modules":["q_proj"]}`, `peft_type "IA3"`},
		{`{"target_modules":["q_proj"],"use_dora":true}`, "use_dora"},
		{`{"target_modules":["q_proj"],"fan_in_fan_out":true}`, "fan_in_fan_out"},
		{`{"target_modules":["q_proj"],"r":0}`, "r must be"},
		{`{"target_modules":["q_proj"],"bias":"some"}`, "bias mode"},
		{`{"target_modules":["q_proj"],"lora_bias":true}`, "lora_bias"},
		{`{"target_modules":null}`, "target_modules is missing"},
		{`{"target_modules":"(unclosed"}`, "regular expression"},
		{`{"target_modules":["q_proj"],"rank_pattern":{"q_proj":-1}}`, "rank_pattern"},
		{`{"target_modules":["q_proj"],"rank_pattern":{"(?=x)":4}}`, "rank_pattern key"},
		{`{"target_modules":["q_proj"],"alpha_pattern":[1]}`, "alpha_pattern must be an object"},
		{`{"target_modules":["q_proj"],"layers_to_transform":"x"}`, "layers_to_transform"},
		{`{"target_modules":["q_proj"],"layers_pattern":"h"}`, "layers_pattern"},
		{`{"target_modules":["q_proj"],"layer_replication":[[0,1]]}`, "layer_replication"},
		{`{"target_modules":[1]}`, "target_modules must be"},
		{`[]`, "adapter_config.json"},
	} {
		_, err := ParseConfig([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "lora: ") {
			t.Errorf("%s: error %v, want one containing %q", tc.json, err, tc.want)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":["q_proj","v_proj"]}`))
	f.Add([]byte(`{"r":16,"lora_alpha":32,"use_rslora":true,"target_modules":".*\\.(q|k)_proj",` +
		`"rank_pattern":{"q_proj":4},"alpha_pattern":{"layers.0.self_attn.k_proj":8},"layers_to_transform":[0,1]}`))
	f.Add([]byte(`{"target_modules":"all-linear","exclude_modules":"x","modules_to_save":["lm_head"],"bias":"all"}`))
	f.Add([]byte(`{"rank_pattern":{"a":1,"a":2},"target_modules":["a"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "lora: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if c.R <= 0 || (c.TargetModules == nil && c.TargetRegex == "") {
			t.Fatalf("accepted an invalid config: %+v", c)
		}
		for _, m := range []string{"model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj", "lm_head"} {
			c.Targets(m)
			if s := c.Scale(m); math.IsNaN(s) {
				t.Fatalf("scale NaN for %s", m)
			}
		}
	})
}
