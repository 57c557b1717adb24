package model_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/internal/testutil"
	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

var small = ckptgen.Spec{Arch: model.ArchQwen2, Hidden: 16, Intermediate: 24, Layers: 2,
	Heads: 4, KVHeads: 2, Vocab: 300, Tied: true, RopeTheta: 1e4, Seed: 3}

func load(dir string) error {
	ck, err := model.Open(dir)
	if err != nil {
		return err
	}
	defer ck.Close()
	_, err = model.Build(ck)
	return err
}

func TestOpenSharded(t *testing.T) {
	s := small
	s.Arch, s.Tied, s.Shards, s.Llama3Rope = model.ArchLlama, false, 3, true
	dir := t.TempDir()
	if err := s.Write(dir); err != nil {
		t.Fatal(err)
	}
	ck, w := testutil.OpenWeights(t, dir)
	if len(ck.Files) != 3 || w.Tied || w.Output.Rows != 300 || w.Layers[1].Q.Bias != nil {
		t.Errorf("files %v tied %v", ck.Files, w.Tied)
	}
	// The weights are used in place: the bf16 embedding is the file's bytes.
	want := ckptgen.Encode(s.Tensors()[0].Values, kernels.BF16)
	if got := kernels.BF16ToF32(w.Embed.U16[5]); got != kernels.BF16ToF32(uint16(want[10])|uint16(want[11])<<8) {
		t.Errorf("embedding value %v", got)
	}
}

func TestCheckpointErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   func(*ckptgen.Spec)
		mutate func(t *testing.T, dir string)
		want   string
	}{
		{"missing shard", func(s *ckptgen.Spec) { s.Shards = 2 }, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
		}, "missing safetensors file"},
		{"untied without lm_head", nil, func(t *testing.T, dir string) {
			editConfig(t, dir, func(c map[string]any) { c["tie_word_embeddings"] = false })
		}, `missing tensor "lm_head.weight"`},
		{"wrong shape", nil, func(t *testing.T, dir string) {
			editConfig(t, dir, func(c map[string]any) { c["intermediate_size"] = 32 })
		}, "has shape [24 16], want [32 16]"},
		{"missing tensor", nil, func(t *testing.T, dir string) {
			editConfig(t, dir, func(c map[string]any) { c["num_hidden_layers"] = 3 })
		}, `missing tensor "model.layers.2.input_layernorm.weight"`},
		{"unexpected tensor", nil, func(t *testing.T, dir string) {
			editConfig(t, dir, func(c map[string]any) { c["num_hidden_layers"] = 1 })
		}, `unexpected tensor "model.layers.1.`},
		{"index lists absent tensor", func(s *ckptgen.Spec) { s.Shards = 2 }, func(t *testing.T, dir string) {
			p := filepath.Join(dir, model.IndexFile)
			var idx map[string]any
			data, _ := os.ReadFile(p)
			json.Unmarshal(data, &idx)
			idx["weight_map"].(map[string]any)["extra.weight"] = "model-00001-of-00002.safetensors"
			data, _ = json.Marshal(idx)
			os.WriteFile(p, data, 0o644)
		}, `"extra.weight" listed in`},
		{"truncated file", nil, func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-10)
		}, "outside the data section"},
		{"no config", nil, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "config.json"))
		}, "config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := small
			if tc.spec != nil {
				tc.spec(&s)
			}
			dir := t.TempDir()
			if err := s.Write(dir); err != nil {
				t.Fatal(err)
			}
			tc.mutate(t, dir)
			err := load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func editConfig(t *testing.T, dir string, f func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	f(c)
	data, _ = json.Marshal(c)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
