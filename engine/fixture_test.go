package engine

import (
	"context"
	"math"
	"path/filepath"
	"sort"
	"testing"

	"github.com/taskmatch/taskmatch/internal/testutil"
)

type fixtureCase = testutil.LogprobCase

// checkLogProbs compares log_softmax of logits with every value a fixture
// case stores.
func checkLogProbs(t *testing.T, c fixtureCase, logits []float32, tol float64) {
	t.Helper()
	lp := LogSoftmax(logits)
	worst := 0.0
	cmp := func(what string, id int, want float64) {
		if d := math.Abs(lp[id] - want); d > tol {
			t.Errorf("%s: %s id %d: logprob %.7f, want %.7f (diff %.2g)", c.ID, what, id, lp[id], want, d)
		} else {
			worst = math.Max(worst, d)
		}
	}
	for i, id := range c.Top.IDs {
		cmp("top", id, c.Top.LogProbs[i])
	}
	for _, o := range c.Options {
		cmp("option "+o.Text, o.ID, o.LogProb)
	}
	for i, id := range c.Sample.IDs {
		cmp("sample", id, c.Sample.LogProbs[i])
	}
	// Stats over the model's vocabulary.
	var sum, sq float64
	argmax := 0
	for i, v := range lp {
		sum += v
		if v > lp[argmax] {
			argmax = i
		}
	}
	mean := sum / float64(len(lp))
	for _, v := range lp {
		sq += (v - mean) * (v - mean)
	}
	std := math.Sqrt(sq / float64(len(lp)))
	if math.Abs(lp[argmax]-c.Stats.Max) > tol || math.Abs(mean-c.Stats.Mean) > tol || math.Abs(std-c.Stats.Std) > tol {
		t.Errorf("%s: stats max %.6f mean %.6f std %.6f, want %.6f %.6f %.6f", c.ID, lp[argmax], mean, std, c.Stats.Max, c.Stats.Mean, c.Stats.Std)
	}
	// The argmax must agree unless the top two are closer than the tolerance.
	if argmax != c.Stats.Argmax {
		top := append([]float64(nil), lp...)
		sort.Float64s(top)
		if top[len(top)-1]-top[len(top)-2] > tol {
			t.Errorf("%s: argmax %d, want %d", c.ID, argmax, c.Stats.Argmax)
		}
	}
	t.Logf("%s: %d tokens, max |diff| %.2g", c.ID, len(c.InputIDs), worst)
}

func TestFixtureLogProbs(t *testing.T) {
	for _, tc := range []struct{ fixture, model, adapter string }{
		{"tiny-qwen2", "tiny-qwen2", ""},
		{"tiny-llama31", "tiny-llama31", ""},
		{"tiny-qwen2-lora", "tiny-qwen2", "tiny-qwen2-lora"},
		{"tiny-llama31-lora", "tiny-llama31", "tiny-llama31-lora"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			cases := testutil.LogprobCases(t, tc.fixture)
			opts := Options{Model: testutil.Shared(t, filepath.Join("fixtures", tc.model)), Batch: 64}
			if tc.adapter != "" {
				opts.Adapters = []string{testutil.Shared(t, filepath.Join("fixtures", tc.adapter))}
			}
			e, err := Load(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			ctx := context.Background()
			for _, c := range cases {
				logits, err := e.Logits(ctx, c.InputIDs)
				if err != nil {
					t.Fatalf("%s: %v", c.ID, err)
				}
				checkLogProbs(t, c, logits, 1e-4)
				if len(c.Chunks) > 0 {
					got := chunked(t, e, c.InputIDs, c.Chunks)
					for i := range got {
						if got[i] != logits[i] {
							t.Fatalf("%s: chunks %v give logit %d = %v, one call gives %v", c.ID, c.Chunks, i, got[i], logits[i])
						}
					}
					checkLogProbs(t, c, got, 1e-4)
				}
			}
		})
	}
}

// chunked evaluates ids in the given chunk sizes on a fresh sequence.
func chunked(t *testing.T, e *Engine, ids, chunks []int) []float32 {
	t.Helper()
	s, err := e.net.NewSeq(len(ids), 64)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, e.Config.Vocab)
	off := 0
	for i, n := range chunks {
		var rows []int
		var outs [][]float32
		if i == len(chunks)-1 {
			rows, outs = []int{n - 1}, [][]float32{out}
		}
		if err := s.Forward(context.Background(), ids[off:off+n], rows, outs); err != nil {
			t.Fatal(err)
		}
		off += n
	}
	return out
}
