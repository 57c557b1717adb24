package engine

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/taskmatch/taskmatch/internal/testutil"
	"github.com/taskmatch/taskmatch/lora"
	"github.com/taskmatch/taskmatch/model"
)

// TestMergedCheckpointEqualsAdapter writes base + adapter as a bf16
// checkpoint, loads it back and checks that its logits equal those of the
// base loaded with the adapter merged in the base dtype, to the bit.
func TestMergedCheckpointEqualsAdapter(t *testing.T) {
	for _, name := range []string{"tiny-qwen2", "tiny-llama31"} {
		t.Run(name, func(t *testing.T) {
			base := testutil.Shared(t, filepath.Join("fixtures", name))
			adapter := testutil.Shared(t, filepath.Join("fixtures", name+"-lora"))
			ck, err := model.Open(base)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			w, err := model.Build(ck)
			if err != nil {
				t.Fatal(err)
			}
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
			withAdapter, err := Load(Options{Model: base, Adapters: []string{adapter}, MergeInBaseDType: true})
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
