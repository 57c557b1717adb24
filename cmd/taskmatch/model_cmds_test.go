package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/model"
)

// tinyCheckpoint writes a small random checkpoint, with the real Qwen2
// tokenizer files when withTokenizer is set.
func tinyCheckpoint(t *testing.T, withTokenizer bool) string {
	t.Helper()
	dir := t.TempDir()
	s := ckptgen.Spec{Arch: model.ArchQwen2, Hidden: 32, Intermediate: 64, Layers: 2, Heads: 4, KVHeads: 2,
		Vocab: 151936, Tied: true, RopeTheta: 1e6, Seed: 9}
	if err := s.Write(dir); err != nil {
		t.Fatal(err)
	}
	if withTokenizer {
		for _, f := range []string{"tokenizer.json.gz", "tokenizer_config.json"} {
			data, err := os.ReadFile(filepath.Join("..", "..", "tokenizer", "testdata", "qwen2", f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := runMain(args, &out, &errb)
	return rc, out.String(), errb.String()
}

func TestLogitsCommand(t *testing.T) {
	dir := tinyCheckpoint(t, false)
	rc, out, errs := run(t, "logits", "--model", dir, "--ids", "1,2,3", "--top", "5", "--full")
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, errs)
	}
	var res struct {
		NTokens int `json:"n_tokens"`
		Top     []struct {
			ID    int     `json:"id"`
			Logit float32 `json:"logit"`
		} `json:"top"`
		Logits []float32 `json:"logits"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.NTokens != 3 || len(res.Top) != 5 || len(res.Logits) != 151936 {
		t.Fatalf("n_tokens %d, %d top, %d logits", res.NTokens, len(res.Top), len(res.Logits))
	}
	for i, e := range res.Top {
		if res.Logits[e.ID] != e.Logit || (i > 0 && e.Logit > res.Top[i-1].Logit) {
			t.Errorf("top %d: %+v", i, e)
		}
	}
	rc, out, _ = run(t, "logits", "--model", dir, "--ids", "7", "--top", "0")
	if rc != 0 || !strings.Contains(out, `"top":[]`) {
		t.Errorf("--top 0: rc %d, %s", rc, out)
	}
	for _, args := range [][]string{
		{"logits"}, {"logits", "--model", dir}, {"logits", "--model", dir, "--ids", "1,x"},
		{"logits", "--model", dir, "--ids", "1", "--top", "-1"},
	} {
		if rc, _, _ := run(t, args...); rc != 2 {
			t.Errorf("%v: rc %d, want 2", args, rc)
		}
	}
	if rc, _, errs := run(t, "logits", "--model", dir, "--ids", "999999"); rc != 1 || !strings.Contains(errs, "outside the vocabulary") {
		t.Errorf("out-of-range id: rc %d, %s", rc, errs)
	}
}

func TestInspectCommand(t *testing.T) {
	dir := tinyCheckpoint(t, true)
	rc, out, errs := run(t, "inspect", "--model", dir, "--gpus", "2x2GiB")
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, errs)
	}
	for _, want := range []string{"Qwen2ForCausalLM", "BF16", "parameters", "serving memory", "chat template renders", "gpu 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	rc, out, _ = run(t, "inspect", "--model", dir, "--json")
	var r inspectReport
	if rc != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Params <= 0 || r.WeightBytes <= 0 || r.Memory.Total <= r.WeightBytes {
		t.Errorf("--json: rc %d, %+v", rc, r)
	}
	// A broken tokenizer file means the checkpoint cannot be served.
	os.WriteFile(filepath.Join(dir, "tokenizer.json.gz"), []byte("not gzip"), 0o644)
	if rc, _, errs := run(t, "inspect", "--model", dir); rc != 1 || !strings.Contains(errs, "cannot be served") {
		t.Errorf("broken tokenizer: rc %d, %s", rc, errs)
	}
	if rc, _, _ := run(t, "inspect"); rc != 2 {
		t.Errorf("no --model: rc %d", rc)
	}
}

func TestPerfCommand(t *testing.T) {
	dir := tinyCheckpoint(t, false)
	rc, out, errs := run(t, "perf", "--model", dir, "--prompt-tokens", "16", "--decode", "4")
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"prefill_tokens_per_s", "decode_tokens_per_s", "peak_rss_bytes"} {
		if v, _ := res[k].(float64); v <= 0 {
			t.Errorf("%s = %v", k, res[k])
		}
	}
}

func TestHelp(t *testing.T) {
	rc, out, _ := run(t, "help")
	if rc != 0 || !strings.Contains(out, "serve") {
		t.Errorf("help: rc %d, %q", rc, out)
	}
	rc, out, _ = run(t, "help", "logits")
	if rc != 0 || !strings.Contains(out, "-ids") {
		t.Errorf("help logits: rc %d, %q", rc, out)
	}
	if rc, _, _ := run(t); rc != 2 {
		t.Errorf("no command: rc %d", rc)
	}
	if rc, _, _ := run(t, "frobnicate"); rc != 2 {
		t.Errorf("unknown command: rc %d", rc)
	}
}
