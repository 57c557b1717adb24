package lora

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// loadAndMerge loads the adapter in dir and merges it into w.
func loadAndMerge(dir string, w *model.Weights) (*Adapter, error) {
	a, err := Load(dir)
	if err != nil {
		return nil, err
	}
	return a, a.Merge(w)
}

// checkAgainstReference compares every merged module of w with the float64
// reference W + s (B A) computed from the base weights, within one rounding
// of w's dtype, and checks that modules the adapter does not touch keep
// their memory.
func checkAgainstReference(t *testing.T, a *Adapter, base, w *model.Weights, before map[string]kernels.Mat) {
	t.Helper()
	touched := map[string]bool{}
	for _, d := range a.Deltas {
		touched[d.Module] = true
		b, _ := base.Module(d.Layer, d.Proj)
		m, _ := w.Module(d.Layer, d.Proj)
		if sameData(before[d.Module], m.W) {
			t.Fatalf("%s: merged matrix still shares the base's memory", d.Module)
		}
		if m.W.DType != b.W.DType {
			t.Fatalf("%s: dtype %s, want %s", d.Module, m.W.DType, b.W.DType)
		}
		bw, mw := matFloats(b.W), matFloats(m.W)
		rel := map[kernels.DType]float64{kernels.BF16: 1.0 / 256, kernels.F16: 1.0 / 2048, kernels.F32: 1e-6}[m.W.DType]
		for o := range d.Out {
			for i := range d.In {
				var dot float64
				for k := range d.Rank {
					dot += float64(d.B[o*d.Rank+k]) * float64(d.A[k*d.In+i])
				}
				ref := bw[o*d.In+i] + d.Scale*dot
				got := mw[o*d.In+i]
				if math.Abs(got-ref) > rel*math.Abs(ref)+1e-7 {
					t.Fatalf("%s [%d, %d]: %v, reference %v", d.Module, o, i, got, ref)
				}
			}
		}
	}
	for i := range w.Layers {
		for _, p := range model.Modules {
			name := model.ModulePath(i, p)
			m, _ := w.Module(i, p)
			if !touched[name] && !sameData(before[name], m.W) {
				t.Errorf("%s: untouched matrix was copied", name)
			}
		}
	}
}

// snapshot records the matrices of w by module name.
func snapshot(w *model.Weights) map[string]kernels.Mat {
	s := map[string]kernels.Mat{}
	for i := range w.Layers {
		for _, p := range model.Modules {
			m, _ := w.Module(i, p)
			s[model.ModulePath(i, p)] = m.W
		}
	}
	return s
}

func TestMergeReference(t *testing.T) {
	for _, tc := range []struct {
		name    string
		base    ckptgen.Spec
		baseDT  string
		adapter kernels.DType
		rslora  bool
		suffix  string
	}{
		{"bf16 base f32 lora", tinyQwen2, "BF16", kernels.F32, false, ""},
		{"bf16 base bf16 lora rslora", tinyQwen2, "BF16", kernels.BF16, true, ".default"},
		{"f32 base f16 lora", tinyLlama, "F32", kernels.F16, false, ".default"},
		{"f16 base f32 lora", tinyLlama, "F16", kernels.F32, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.base
			spec.DType = tc.baseDT
			_, base := buildBase(t, spec)
			_, w := buildBase(t, spec)
			c := baseConfig(t, spec)
			as := newAdapter(3)
			as.dtype, as.suffix = tc.adapter, tc.suffix
			as.cfg["use_rslora"] = tc.rslora
			before := snapshot(w)
			a, err := loadAndMerge(as.write(t, c), w)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Deltas) != c.Layers*7 {
				t.Fatalf("%d deltas, want %d", len(a.Deltas), c.Layers*7)
			}
			checkAgainstReference(t, a, base, w, before)
		})
	}
}

// TestDefaultSuffix checks that tensor names with and without ".default"
// give the same merge.
func TestDefaultSuffix(t *testing.T) {
	c := baseConfig(t, tinyQwen2)
	var ws []*model.Weights
	for _, suffix := range []string{"", ".default"} {
		_, w := buildBase(t, tinyQwen2)
		as := newAdapter(5)
		as.suffix = suffix
		if _, err := loadAndMerge(as.write(t, c), w); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	for i := range c.Layers {
		for _, p := range model.Modules {
			a, _ := ws[0].Module(i, p)
			b, _ := ws[1].Module(i, p)
			if err := sameMat(a.W, b.W); err != nil {
				t.Errorf("%s: %v", model.ModulePath(i, p), err)
			}
		}
	}
}

// TestPatternsMerge checks that rank_pattern and alpha_pattern change the
// scale of only the modules they name.
func TestPatternsMerge(t *testing.T) {
	c := baseConfig(t, tinyQwen2)
	as := newAdapter(9)
	as.cfg["rank_pattern"] = map[string]any{"model.layers.1.self_attn.q_proj": 4}
	as.cfg["alpha_pattern"] = map[string]any{"down_proj": 64}
	as.ranks = nil
	// Layer 1's q_proj has rank 4: write the tensors accordingly.
	as.skip = map[string]bool{
		keyPrefix + "model.layers.1.self_attn.q_proj.lora_A.weight": true,
		keyPrefix + "model.layers.1.self_attn.q_proj.lora_B.weight": true,
	}
	q := adapterSpec{cfg: map[string]any{"r": 4}, layers: []int{1}, modules: []string{"q_proj"}, dtype: kernels.F32, seed: 10}
	as.extra = q.tensors(c)
	_, base := buildBase(t, tinyQwen2)
	_, w := buildBase(t, tinyQwen2)
	before := snapshot(w)
	a, err := loadAndMerge(as.write(t, c), w)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range a.Deltas {
		want := 2.0
		switch {
		case d.Module == "model.layers.1.self_attn.q_proj":
			want = 4.0 // 16 / 4
		case d.Proj == "down_proj":
			want = 8.0 // 64 / 8
		}
		if d.Scale != want {
			t.Errorf("%s: scale %v, want %v", d.Module, d.Scale, want)
		}
	}
	checkAgainstReference(t, a, base, w, before)
	s := a.Summary()
	if len(s.Ranks) != 2 || len(s.Scales) != 3 {
		t.Errorf("summary ranks %v scales %v", s.Ranks, s.Scales)
	}
}

func TestLayersToTransform(t *testing.T) {
	c := baseConfig(t, tinyQwen2)
	as := newAdapter(11)
	as.cfg["layers_to_transform"] = []int{1}
	as.cfg["target_modules"] = []string{"q_proj", "down_proj"}
	as.layers, as.modules = []int{1}, []string{"q_proj", "down_proj"}
	_, base := buildBase(t, tinyQwen2)
	_, w := buildBase(t, tinyQwen2)
	before := snapshot(w)
	a, err := loadAndMerge(as.write(t, c), w)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Deltas) != 2 {
		t.Fatalf("%d deltas, want 2", len(a.Deltas))
	}
	checkAgainstReference(t, a, base, w, before)
}

func TestModulesToSave(t *testing.T) {
	c := baseConfig(t, tinyQwen2)
	embed := make([]float32, c.Vocab*c.Hidden)
	for i := range embed {
		embed[i] = float32(i%13) * 0.01
	}
	for _, tc := range []struct {
		name    string
		tensor  string
		ensure  bool
		wantTie bool
	}{
		{"embed unties", keyPrefix + "model.embed_tokens.weight", false, false},
		{"lm_head unties", keyPrefix + "lm_head.weight", false, false},
		{"embed tied", keyPrefix + "model.embed_tokens.modules_to_save.default.weight", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newAdapter(12)
			as.cfg["modules_to_save"] = []string{"embed_tokens", "lm_head"}
			as.cfg["ensure_weight_tying"] = tc.ensure
			as.extra = []ckptgen.NamedBytes{{Name: tc.tensor, DType: kernels.F32,
				Shape: []int{c.Vocab, c.Hidden}, Data: ckptgen.Encode(embed, kernels.F32)}}
			_, base := buildBase(t, tinyQwen2)
			_, w := buildBase(t, tinyQwen2)
			a, err := loadAndMerge(as.write(t, c), w)
			if err != nil {
				t.Fatal(err)
			}
			if w.Tied != tc.wantTie {
				t.Errorf("Tied %v, want %v", w.Tied, tc.wantTie)
			}
			if s := a.Summary(); len(s.ModulesToSave) != 1 {
				t.Errorf("summary modules_to_save %v", s.ModulesToSave)
			}
			replaced, kept := w.Embed, w.Output
			if strings.Contains(tc.tensor, "lm_head") {
				replaced, kept = w.Output, w.Embed
			}
			want := make([]uint16, len(embed))
			for i, v := range embed {
				want[i] = kernels.F32ToBF16(v)
			}
			if err := sameMat(replaced, kernels.Mat{DType: kernels.BF16, Rows: c.Vocab, Cols: c.Hidden, U16: want}); err != nil {
				t.Errorf("replaced matrix: %v", err)
			}
			if tc.wantTie {
				if !sameData(kept, replaced) {
					t.Errorf("ensure_weight_tying: output and embedding differ")
				}
			} else if err := sameMat(kept, base.Embed); err != nil {
				t.Errorf("kept matrix changed: %v", err)
			}
		})
	}
}

func TestBiasApplied(t *testing.T) {
	c := baseConfig(t, tinyQwen2)
	as := newAdapter(13)
	as.cfg["bias"] = "lora_only"
	bias := make([]float32, c.Heads*c.HeadDim)
	for i := range bias {
		bias[i] = 0.123456 * float32(i)
	}
	as.extra = []ckptgen.NamedBytes{{Name: keyPrefix + "model.layers.0.self_attn.q_proj.bias", DType: kernels.F32,
		Shape: []int{len(bias)}, Data: ckptgen.Encode(bias, kernels.F32)}}
	_, w := buildBase(t, tinyQwen2)
	if _, err := loadAndMerge(as.write(t, c), w); err != nil {
		t.Fatal(err)
	}
	for i, v := range w.Layers[0].Q.Bias {
		if want := kernels.BF16ToF32(kernels.F32ToBF16(bias[i])); v != want {
			t.Fatalf("bias[%d] = %v, want %v", i, v, want)
		}
	}
}

// TestRefusals writes a small adapter for each unsupported or ill-fitting
// case and checks that Load or Merge refuses it, naming the key or tensor.
func TestRefusals(t *testing.T) {
	c := baseConfig(t, tinyQwen2)
	vocabBad := make([]float32, (c.Vocab+1)*c.Hidden)
	oBias := make([]float32, c.Hidden)
	q := keyPrefix + "model.layers.0.self_attn.q_proj"
	for _, tc := range []struct {
		name string
		edit func(a *adapterSpec)
		want string
	}{
		{"dora", func(a *adapterSpec) { a.cfg["use_dora"] = true }, "use_dora"},
		{"dora tensor", func(a *adapterSpec) {
			a.extra = vec(q+".lora_magnitude_vector.default.weight", make([]float32, 16))
		}, "lora_magnitude_vector"},
		{"fan_in_fan_out", func(a *adapterSpec) { a.cfg["fan_in_fan_out"] = true }, "fan_in_fan_out"},
		{"peft type", func(a *adapterSpec) { a.cfg["peft_type"] = "LOHA" }, "peft_type"},
		{"shape", func(a *adapterSpec) {
			a.skip = map[string]bool{q + ".lora_A.weight": true}
			a.extra = mat(q+".lora_A.weight", 8, c.Hidden+1)
		}, q + ".lora_A.weight"},
		{"rank", func(a *adapterSpec) {
			a.skip = map[string]bool{q + ".lora_A.weight": true}
			a.extra = mat(q+".lora_A.weight", 4, c.Hidden)
		}, "rank 4"},
		{"missing B", func(a *adapterSpec) { a.skip = map[string]bool{q + ".lora_B.weight": true} }, "no matching lora_B"},
		{"layer out of range", func(a *adapterSpec) { a.layers = []int{0, 1, 2} }, "layer 2"},
		{"target not in architecture", func(a *adapterSpec) {
			a.cfg["target_modules"] = []string{"q_proj", "c_attn"}
			a.modules = []string{"q_proj"}
		}, `"c_attn"`},
		{"target not linear", func(a *adapterSpec) {
			a.cfg["target_modules"] = []string{"q_proj", "input_layernorm"}
			a.modules = []string{"q_proj"}
		}, "input_layernorm, which is not a linear layer"},
		{"target embedding", func(a *adapterSpec) {
			a.cfg["target_modules"] = []string{"q_proj", "embed_tokens"}
			a.modules = []string{"q_proj"}
		}, "embedding or output"},
		{"regex target norm", func(a *adapterSpec) { a.cfg["target_modules"] = `.*(_proj|norm)` }, "model.norm"},
		{"targeted without tensors", func(a *adapterSpec) { a.modules = []string{"q_proj"} }, "has no lora_A/lora_B"},
		{"tensors not targeted", func(a *adapterSpec) { a.cfg["target_modules"] = []string{"q_proj"} }, "not targeted"},
		{"unknown tensor", func(a *adapterSpec) { a.extra = mat(q+".lora_C.weight", 2, 2) }, q + ".lora_C.weight"},
		{"no prefix", func(a *adapterSpec) { a.extra = mat("model.layers.0.self_attn.q_proj.lora_A.x", 2, 2) }, "unknown name"},
		{"unknown module", func(a *adapterSpec) {
			a.extra = mat(keyPrefix+"model.layers.0.self_attn.qkv_proj.lora_A.weight", 8, 2)
		}, "qkv_proj"},
		{"lora on embedding", func(a *adapterSpec) {
			a.extra = mat(keyPrefix+"model.embed_tokens.lora_embedding_A", 8, c.Vocab)
		}, "lora_embedding_A"},
		{"modules_to_save vocab", func(a *adapterSpec) {
			a.cfg["modules_to_save"] = []string{"lm_head"}
			a.extra = []ckptgen.NamedBytes{{Name: keyPrefix + "lm_head.weight", DType: kernels.F32,
				Shape: []int{c.Vocab + 1, c.Hidden}, Data: ckptgen.Encode(vocabBad, kernels.F32)}}
		}, "vocabulary of 41, the base has 40"},
		{"modules_to_save other", func(a *adapterSpec) {
			a.extra = vec(keyPrefix+"model.norm.weight", oBias)
		}, "model.norm"},
		{"bias without base bias", func(a *adapterSpec) {
			a.cfg["bias"] = "all"
			a.extra = vec(keyPrefix+"model.layers.0.self_attn.o_proj.bias", oBias)
		}, "o_proj.bias"},
		{"bias tensor with bias none", func(a *adapterSpec) {
			a.extra = vec(keyPrefix+"model.layers.0.self_attn.q_proj.bias", make([]float32, 16))
		}, `bias "none"`},
		{"lora_bias tensor", func(a *adapterSpec) {
			a.extra = vec(q+".lora_B.bias", make([]float32, 16))
		}, "lora_bias"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newAdapter(21)
			tc.edit(&as)
			_, w := buildBase(t, tinyQwen2)
			_, base := buildBase(t, tinyQwen2)
			_, err := loadAndMerge(as.write(t, c), w)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "lora: ") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			for i := range w.Layers {
				for _, p := range model.Modules {
					a, _ := w.Module(i, p)
					b, _ := base.Module(i, p)
					if err := sameMat(a.W, b.W); err != nil {
						t.Fatalf("weights changed by a refused merge: %s: %v", model.ModulePath(i, p), err)
					}
				}
			}
		})
	}
}

func mat(name string, rows, cols int) []ckptgen.NamedBytes {
	return []ckptgen.NamedBytes{{Name: name, DType: kernels.F32, Shape: []int{rows, cols},
		Data: make([]byte, 4*rows*cols)}}
}

func vec(name string, v []float32) []ckptgen.NamedBytes {
	return []ckptgen.NamedBytes{{Name: name, DType: kernels.F32, Shape: []int{len(v)}, Data: ckptgen.Encode(v, kernels.F32)}}
}

func TestLoadFileErrors(t *testing.T) {
	c := baseConfig(t, tinyQwen2)
	dir := newAdapter(1).write(t, c)
	if err := os.Rename(filepath.Join(dir, WeightsFile), filepath.Join(dir, "adapter_model.bin")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "convert it") {
		t.Errorf("adapter_model.bin: error %v", err)
	}
	os.Remove(filepath.Join(dir, "adapter_model.bin"))
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "has no "+WeightsFile) {
		t.Errorf("no weights: error %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "lora: ") {
		t.Errorf("empty dir: error %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, WeightsFile), []byte("garbage!garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.HasPrefix(err.Error(), "lora: ") {
		t.Errorf("bad safetensors: error %v", err)
	}
}

// TestMergeSeveral checks that two adapters merge in order, each onto the
// result of the one before.
func TestMergeSeveral(t *testing.T) {
	c := baseConfig(t, tinyQwen2)
	d1, d2 := newAdapter(31).write(t, c), newAdapter(32).write(t, c)
	_, w := buildBase(t, tinyQwen2)
	_, mid := buildBase(t, tinyQwen2)
	if _, err := loadAndMerge(d1, w); err != nil {
		t.Fatal(err)
	}
	if _, err := loadAndMerge(d1, mid); err != nil {
		t.Fatal(err)
	}
	before := snapshot(w)
	a2, err := loadAndMerge(d2, w)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstReference(t, a2, mid, w, before)
}

func TestSummary(t *testing.T) {
	c := baseConfig(t, tinyQwen2)
	as := newAdapter(41)
	as.cfg["use_rslora"] = true
	a, err := Load(as.write(t, c))
	if err != nil {
		t.Fatal(err)
	}
	s := a.Summary()
	// Per layer: sum over modules of r*(in+out), and of out*in for the
	// float32 copies.
	var per, f32 int64
	for _, p := range model.Modules {
		o, in := c.ModuleShape(p)
		per += int64(8 * (o + in))
		f32 += int64(o * in * 4)
	}
	if got := a.F32Bytes(); got != 2*f32 {
		t.Errorf("F32Bytes %d, want %d", got, 2*f32)
	}
	if s.Rank != 8 || s.Alpha != 16 || math.Abs(s.Scale-5.657) > 1e-3 || s.Modules != 14 ||
		len(s.TargetModules) != 7 || s.LoRAParams != 2*per || s.Params != s.LoRAParams || s.DType != "F32" {
		t.Errorf("summary %+v", s)
	}
}

// TestMergeKernelsMatchScalar checks the MatMul-based merge against the
// plain-loop reference: the same float32 products, summed in another order.
func TestMergeKernelsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][3]int{{70, 33, 8}, {5, 129, 16}, {64, 64, 1}} {
		out, in, r := shape[0], shape[1], shape[2]
		w := kernels.Mat{DType: kernels.F32, Rows: out, Cols: in, F32: make([]float32, out*in)}
		for i := range w.F32 {
			w.F32[i] = float32(rng.NormFloat64())
		}
		d := &Delta{Out: out, In: in, Rank: r, Scale: 2, A: make([]float32, r*in), B: make([]float32, out*r)}
		for i := range d.A {
			d.A[i] = float32(rng.NormFloat64())
		}
		for i := range d.B {
			d.B[i] = float32(rng.NormFloat64())
		}
		got := MergeMatAs(w, d, kernels.F32)
		want := mergeMatScalar(w, d, kernels.F32)
		for i := range got.F32 {
			if diff := math.Abs(float64(got.F32[i] - want.F32[i])); diff > 1e-4*math.Max(1, math.Abs(float64(want.F32[i]))) {
				t.Fatalf("%v: element %d: %v, scalar %v", shape, i, got.F32[i], want.F32[i])
			}
		}
	}
}
