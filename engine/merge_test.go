package engine

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/taskmatch/taskmatch/internal/testutil"
	"github.com/taskmatch/taskmatch/lora"
)

// TestMergedCheckpointEqualsAdapter writes base + adapter as a bf16
// checkpoint, loads it back and checks that its logits equal those of the
// base loaded with the adapter merged in the base dtype, to the bit.
func TestMergedCheckpointEqualsAdapter(t *testing.T) {
	for _, name := range []string{"tiny-qwen2", "tiny-llama31"} {
		t.Run(name, func(t *testing.T) {
			base := testutil.Shared(t, filepath.Join("fixtures", name))
			adapter := testutil.Shared(t, filepath.Join("fixtures", name+"-lora"))
			ck, w := testutil.OpenWeights(t, base)
			a, err := lora.Load(adapter)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Merge(w); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "merged")
			if err := lora.WriteMerged(ck, w, out); err != nil {
				t.Fatal(err)
			}
			merged, err := Load(Options{Model: out})
			if err != nil {
				t.Fatal(err)
			}
			defer merged.Close()
			withAdapter, err := Load(Options{Model: base, Adapters: []string{adapter}, MergedDType: MergedBase})
			if err != nil {
				t.Fatal(err)
			}
			defer withAdapter.Close()
			ids := merged.Tokenizer.Encode("Is a Ph.D. in Medicine a fit for annotating clinical notes?")
			got, err := merged.Logits(context.Background(), ids)
			if err != nil {
				t.Fatal(err)
			}
			want, err := withAdapter.Logits(context.Background(), ids)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("logit %d: merged checkpoint %v, base + adapter %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestMergedDTypePolicy(t *testing.T) {
	base := testutil.Shared(t, filepath.Join("fixtures", "tiny-qwen2"))
	adapter := testutil.Shared(t, filepath.Join("fixtures", "tiny-qwen2-lora"))
	if _, ok := memAvailable(); !ok {
		t.Log("MemAvailable unknown: auto falls back to a fixed bound")
	}
	for policy, want := range map[string]string{"": MergedF32, MergedAuto: MergedF32, MergedF32: MergedF32, MergedBase: MergedBase} {
		e, err := Load(Options{Model: base, Adapters: []string{adapter}, MergedDType: policy})
		if err != nil {
			t.Fatal(err)
		}
		got := e.MergedDType
		q := e.Weights().Layers[0].Q.W.DType.String()
		e.Close()
		if got != want {
			t.Errorf("policy %q: merged %q, want %q", policy, got, want)
		}
		if wantQ := map[string]string{MergedF32: "F32", MergedBase: "BF16"}[want]; q != wantQ {
			t.Errorf("policy %q: q_proj is %s, want %s", policy, q, wantQ)
		}
	}
	if _, err := Load(Options{Model: base, Adapters: []string{adapter}, MergedDType: "f64"}); err == nil {
		t.Error("merged dtype f64 accepted")
	}
}
