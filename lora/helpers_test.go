package lora

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/internal/testutil"
	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// tinyQwen2 is a very small Qwen2 (tied, q/k/v biases) for merge tests.
var tinyQwen2 = ckptgen.Spec{Arch: model.ArchQwen2, Hidden: 16, Intermediate: 24, Layers: 2,
	Heads: 2, KVHeads: 1, Vocab: 40, Tied: true, RopeTheta: 1e6, Seed: 7}

// tinyLlama is a very small Llama, untied, in two shards.
var tinyLlama = ckptgen.Spec{Arch: model.ArchLlama, Hidden: 16, Intermediate: 24, Layers: 2,
	Heads: 2, KVHeads: 1, Vocab: 40, RopeTheta: 5e5, Shards: 2, Seed: 8}

// baseConfig returns the parsed config of a spec.
func baseConfig(t testing.TB, s ckptgen.Spec) *model.Config {
	t.Helper()
	c, err := model.ParseConfig(s.ConfigJSON())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// buildBase builds a spec's weights in memory.
func buildBase(t testing.TB, s ckptgen.Spec) (*model.Checkpoint, *model.Weights) {
	t.Helper()
	ck, err := s.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	w, err := model.Build(ck)
	if err != nil {
		t.Fatal(err)
	}
	return ck, w
}

// openBase writes a spec to a temporary directory and opens it.
func openBase(t testing.TB, s ckptgen.Spec) (string, *model.Checkpoint, *model.Weights) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "base")
	if err := s.Write(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{"model":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ck, w := testutil.OpenWeights(t, dir)
	return dir, ck, w
}

// adapterSpec describes a test adapter: a config (as a JSON object) and
// which modules of which layers get lora_A/lora_B.
type adapterSpec struct {
	cfg     map[string]any
	layers  []int
	modules []string
	ranks   map[string]int // module short name -> rank; default cfg "r"
	dtype   kernels.DType
	suffix  string // "" or ".default"
	seed    uint64
	extra   []ckptgen.NamedBytes
	skip    map[string]bool // tensor names to leave out
}

// defaultConfig is a PEFT adapter_config.json for r 8, alpha 16.
func defaultConfig() map[string]any {
	return map[string]any{
		"peft_type": "LORA", "r": 8, "lora_alpha": 16, "use_rslora": false,
		"target_modules": []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"},
		"rank_pattern":   map[string]any{}, "alpha_pattern": map[string]any{},
		"fan_in_fan_out": false, "use_dora": false, "bias": "none",
		"modules_to_save": nil, "layers_to_transform": nil, "task_type": "CAUSAL_LM",
	}
}

// tensors generates the adapter's tensors for the base config c.
func (a adapterSpec) tensors(c *model.Config) []ckptgen.NamedBytes {
	rng := rand.New(rand.NewPCG(a.seed, 99))
	modules := a.modules
	if modules == nil {
		modules = model.Modules
	}
	layers := a.layers
	if layers == nil {
		for i := range c.Layers {
			layers = append(layers, i)
		}
	}
	var out []ckptgen.NamedBytes
	gen := func(name string, shape ...int) {
		if a.skip[name] {
			return
		}
		v := make([]float32, shape[0]*shape[1])
		for i := range v {
			v[i] = float32(0.1 * rng.NormFloat64())
		}
		out = append(out, ckptgen.NamedBytes{Name: name, DType: a.dtype, Shape: shape, Data: ckptgen.Encode(v, a.dtype)})
	}
	for _, l := range layers {
		for _, m := range modules {
			r := int(a.cfg["r"].(int))
			if rr, ok := a.ranks[m]; ok {
				r = rr
			}
			o, in := c.ModuleShape(m)
			p := keyPrefix + model.ModulePath(l, m)
			gen(p+".lora_A"+a.suffix+".weight", r, in)
			gen(p+".lora_B"+a.suffix+".weight", o, r)
		}
	}
	return append(out, a.extra...)
}

// write writes the adapter into a new temporary directory.
func (a adapterSpec) write(t testing.TB, c *model.Config) string {
	t.Helper()
	dir := t.TempDir()
	data, err := json.MarshalIndent(a.cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	err = ckptgen.WriteSafetensors(filepath.Join(dir, WeightsFile), a.tensors(c), map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// newAdapter is an adapterSpec with the default config and f32 tensors.
func newAdapter(seed uint64) adapterSpec {
	return adapterSpec{cfg: defaultConfig(), dtype: kernels.F32, seed: seed}
}

// matFloats decodes a whole matrix to float64.
func matFloats(m kernels.Mat) []float64 {
	out := make([]float64, 0, m.Rows*m.Cols)
	row := make([]float32, m.Cols)
	for r := range m.Rows {
		m.Row(r, row)
		for _, v := range row {
			out = append(out, float64(v))
		}
	}
	return out
}

// sameMat says whether two matrices hold the same dtype, shape and bits.
func sameMat(a, b kernels.Mat) error {
	if a.DType != b.DType || a.Rows != b.Rows || a.Cols != b.Cols {
		return fmt.Errorf("%s [%d, %d] vs %s [%d, %d]", a.DType, a.Rows, a.Cols, b.DType, b.Rows, b.Cols)
	}
	for i := range a.U16 {
		if a.U16[i] != b.U16[i] {
			return fmt.Errorf("element %d: %#04x vs %#04x", i, a.U16[i], b.U16[i])
		}
	}
	for i := range a.F32 {
		if a.F32[i] != b.F32[i] {
			return fmt.Errorf("element %d: %v vs %v", i, a.F32[i], b.F32[i])
		}
	}
	return nil
}

// sameData says whether two matrices share their backing array.
func sameData(a, b kernels.Mat) bool {
	switch {
	case len(a.U16) > 0 && len(b.U16) > 0:
		return &a.U16[0] == &b.U16[0]
	case len(a.F32) > 0 && len(b.F32) > 0:
		return &a.F32[0] == &b.F32[0]
	}
	return false
}
