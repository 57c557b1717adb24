package lora

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/internal/testutil"
	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// sameWeights compares two sets of weights bit for bit.
func sameWeights(t *testing.T, got, want *model.Weights) {
	t.Helper()
	if err := sameMat(got.Embed, want.Embed); err != nil {
		t.Errorf("embed: %v", err)
	}
	if err := sameMat(got.Output, want.Output); err != nil {
		t.Errorf("output: %v", err)
	}
	if got.Tied != want.Tied {
		t.Errorf("tied %v, want %v", got.Tied, want.Tied)
	}
	if !slices.Equal(got.Norm, want.Norm) {
		t.Errorf("norm differs")
	}
	for i := range want.Layers {
		g, w := &got.Layers[i], &want.Layers[i]
		if !slices.Equal(g.AttnNorm, w.AttnNorm) || !slices.Equal(g.MLPNorm, w.MLPNorm) {
			t.Errorf("layer %d: norms differ", i)
		}
		for _, p := range model.Modules {
			a, _ := got.Module(i, p)
			b, _ := want.Module(i, p)
			if err := sameMat(a.W, b.W); err != nil {
				t.Errorf("%s: %v", model.ModulePath(i, p), err)
			}
			if !slices.Equal(a.Bias, b.Bias) {
				t.Errorf("%s: bias differs", model.ModulePath(i, p))
			}
		}
	}
}

// shardMap returns tensor name -> file name of an opened checkpoint.
func shardMap(ck *model.Checkpoint) map[string]string {
	m := map[string]string{}
	for name, t := range ck.Tensors {
		m[name] = t.File
	}
	return m
}

// roundTrip merges adapters into the base in baseDir, writes the merged
// checkpoint, loads it back and compares it with the in-memory merge.
func roundTrip(t *testing.T, baseDir string, adapters ...string) (*model.Checkpoint, string) {
	t.Helper()
	ck, w := testutil.OpenWeights(t, baseDir)
	for _, dir := range adapters {
		if _, err := loadAndMerge(dir, w); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "merged")
	if err := WriteMerged(ck, w, out); err != nil {
		t.Fatal(err)
	}
	back, wb := testutil.OpenWeights(t, out)
	sameWeights(t, wb, w)
	if back.Config.TorchDType != "bfloat16" {
		t.Errorf("torch_dtype %q", back.Config.TorchDType)
	}
	if !slices.Equal(back.Files, ck.Files) {
		t.Errorf("files %v, want %v", back.Files, ck.Files)
	}
	_, errIdx := os.Stat(filepath.Join(baseDir, model.IndexFile))
	_, errOut := os.Stat(filepath.Join(out, model.IndexFile))
	if (errIdx == nil) != (errOut == nil) {
		t.Errorf("index in base: %v, in merged: %v", errIdx == nil, errOut == nil)
	}
	want := shardMap(ck)
	for name, file := range shardMap(back) {
		if want[name] != file && !(name == "lm_head.weight" && w.Config.TieEmbeddings) {
			t.Errorf("%s in %s, base has it in %s", name, file, want[name])
		}
	}
	return back, out
}

func TestWriteMergedRoundTrip(t *testing.T) {
	for _, spec := range []ckptgen.Spec{tinyQwen2, tinyLlama} {
		t.Run(spec.Arch, func(t *testing.T) {
			baseDir, _, _ := openBase(t, spec)
			c := baseConfig(t, spec)
			a1 := newAdapter(51).write(t, c)
			as := newAdapter(52)
			as.cfg["target_modules"] = ".*\\.(q_proj|down_proj)"
			as.modules = []string{"q_proj", "down_proj"}
			a2 := as.write(t, c)
			_, out := roundTrip(t, baseDir, a1, a2)
			for _, name := range []string{"tokenizer.json", "generation_config.json"} {
				if _, err := os.Stat(filepath.Join(out, name)); err != nil {
					t.Errorf("%s not copied: %v", name, err)
				}
			}
		})
	}
}

// TestWriteMergedUntied checks a tied base whose embedding the adapter
// replaces: the merged checkpoint is untied and loads back the same.
func TestWriteMergedUntied(t *testing.T) {
	baseDir, _, _ := openBase(t, tinyQwen2)
	c := baseConfig(t, tinyQwen2)
	embed := make([]float32, c.Vocab*c.Hidden)
	for i := range embed {
		embed[i] = float32(i%7) * 0.03
	}
	as := newAdapter(53)
	as.cfg["modules_to_save"] = []string{"embed_tokens"}
	as.extra = []ckptgen.NamedBytes{{Name: keyPrefix + "model.embed_tokens.weight", DType: kernels.F32,
		Shape: []int{c.Vocab, c.Hidden}, Data: ckptgen.Encode(embed, kernels.F32)}}
	back, _ := roundTrip(t, baseDir, as.write(t, c))
	if back.Config.TieEmbeddings {
		t.Errorf("merged config still ties the embeddings")
	}
}

func TestWriteMergedRefusesBaseDir(t *testing.T) {
	baseDir, ck, w := openBase(t, tinyQwen2)
	err := WriteMerged(ck, w, baseDir)
	if err == nil || !strings.Contains(err.Error(), "base checkpoint's directory") {
		t.Errorf("error %v", err)
	}
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "config.json"), []byte("{}"), 0o644)
	if err := WriteMerged(ck, w, out); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Errorf("error %v", err)
	}
}

// fixtureDirs returns the shared tiny base and adapter folders for name
// ("tiny-qwen2" or "tiny-llama31"), skipping when they are absent.
func fixtureDirs(t *testing.T, name string) (base, adapter string) {
	return testutil.Shared(t, filepath.Join("fixtures", name)), testutil.Shared(t, filepath.Join("fixtures", name+"-lora"))
}

// TestFixtures merges the shared PEFT adapters into their tiny bases and
// checks the merge against the float64 reference, the summary, and the
// merged checkpoint round trip (the llama one is sharded with an index).
func TestFixtures(t *testing.T) {
	for _, name := range []string{"tiny-qwen2", "tiny-llama31"} {
		t.Run(name, func(t *testing.T) {
			baseDir, adDir := fixtureDirs(t, name)
			ck, base := testutil.OpenWeights(t, baseDir)
			w, err := model.Build(ck)
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(w)
			a, err := loadAndMerge(adDir, w)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstReference(t, a, base, w, before)
			s := a.Summary()
			if s.Rank != 8 || s.Alpha != 16 || s.Scale != 2 || len(s.TargetModules) != 7 || s.Modules != 7*ck.Config.Layers {
				t.Errorf("summary %+v", s)
			}
			js, _ := json.Marshal(s)
			t.Logf("summary: %s", js)
			_, out := roundTrip(t, baseDir, adDir)
			for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "generation_config.json"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("%s not copied", f)
				}
			}
		})
	}
}

// TestKeepF32 checks that a float32 merge rounded to bfloat16, directly or
// through WriteMerged, is bit for bit the bfloat16 merge.
func TestKeepF32(t *testing.T) {
	_, ck, w := openBase(t, tinyLlama)
	c := baseConfig(t, tinyLlama)
	adDir := newAdapter(61).write(t, c)
	a, err := Load(adDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.MergeWith(w, MergeOptions{KeepF32: true}); err != nil {
		t.Fatal(err)
	}
	ref, err := model.Build(ck)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(ref); err != nil {
		t.Fatal(err)
	}
	for _, d := range a.Deltas {
		m, _ := w.Module(d.Layer, d.Proj)
		r, _ := ref.Module(d.Layer, d.Proj)
		if m.W.DType != kernels.F32 {
			t.Fatalf("%s: dtype %s, want F32", d.Module, m.W.DType)
		}
		rounded := newMat(kernels.BF16, m.W.Rows, m.W.Cols)
		storeRows(rounded, 0, m.W.F32)
		if err := sameMat(rounded, r.W); err != nil {
			t.Fatalf("%s: %v", d.Module, err)
		}
	}
	out := filepath.Join(t.TempDir(), "merged")
	if err := WriteMerged(ck, w, out); err != nil {
		t.Fatal(err)
	}
	_, wb := testutil.OpenWeights(t, out)
	sameWeights(t, wb, ref)
}
