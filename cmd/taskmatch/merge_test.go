package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// writeTestAdapter writes a rank-4 q_proj/v_proj adapter for spec.
func writeTestAdapter(t *testing.T, spec ckptgen.Spec) string {
	t.Helper()
	c, err := model.ParseConfig(spec.ConfigJSON())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := `{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["q_proj","v_proj"],"bias":"none"}`
	if err := os.WriteFile(filepath.Join(dir, "adapter_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var ts []ckptgen.NamedBytes
	for i := range c.Layers {
		for _, m := range []string{"q_proj", "v_proj"} {
			out, in := c.ModuleShape(m)
			a, b := make([]float32, 4*in), make([]float32, out*4)
			for j := range a {
				a[j] = float32(j%5) * 0.01
			}
			for j := range b {
				b[j] = float32(j%3) * 0.02
			}
			p := "base_model.model." + model.ModulePath(i, m)
			ts = append(ts,
				ckptgen.NamedBytes{Name: p + ".lora_A.weight", DType: kernels.F32, Shape: []int{4, in}, Data: ckptgen.Encode(a, kernels.F32)},
				ckptgen.NamedBytes{Name: p + ".lora_B.weight", DType: kernels.F32, Shape: []int{out, 4}, Data: ckptgen.Encode(b, kernels.F32)})
		}
	}
	if err := ckptgen.WriteSafetensors(filepath.Join(dir, "adapter_model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMergeCommand(t *testing.T) {
	spec := ckptgen.Spec{Arch: model.ArchLlama, Hidden: 16, Intermediate: 24, Layers: 2,
		Heads: 2, KVHeads: 1, Vocab: 40, Shards: 2, Seed: 3}
	base := filepath.Join(t.TempDir(), "base")
	if err := spec.Write(base); err != nil {
		t.Fatal(err)
	}
	ad := writeTestAdapter(t, spec)
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if rc := runMain([]string{"merge", "--model", base, "--adapter", ad, "--adapter", ad, "--out", out}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	if !strings.Contains(stdout.String(), "merged 2 adapter(s)") {
		t.Errorf("stdout %q", stdout.String())
	}
	for _, f := range []string{"config.json", "generation_config.json", model.IndexFile,
		"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	data, _ := os.ReadFile(filepath.Join(out, "config.json"))
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil || cfg["torch_dtype"] != "bfloat16" {
		t.Errorf("config.json torch_dtype %v (%v)", cfg["torch_dtype"], err)
	}
	ck, err := model.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if _, err := model.Build(ck); err != nil {
		t.Fatal(err)
	}

	// Writing over an existing checkpoint, bad usage and a bad adapter fail.
	stderr.Reset()
	if rc := runMain([]string{"merge", "--model", base, "--adapter", ad, "--out", out}, &stdout, &stderr); rc != 1 ||
		!strings.Contains(stderr.String(), "already holds") {
		t.Errorf("existing output: rc %d, stderr %q", rc, stderr.String())
	}
	if rc := runMain([]string{"merge", "--model", base}, &stdout, &stderr); rc != 2 {
		t.Errorf("missing flags: rc %d", rc)
	}
	stderr.Reset()
	if rc := runMain([]string{"merge", "--model", base, "--adapter", t.TempDir(), "--out", t.TempDir()}, &stdout, &stderr); rc != 1 ||
		!strings.Contains(stderr.String(), "lora: ") {
		t.Errorf("bad adapter: rc %d, stderr %q", rc, stderr.String())
	}
}
