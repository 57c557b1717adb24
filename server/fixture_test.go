package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskmatch/taskmatch/engine"
	"github.com/taskmatch/taskmatch/internal/testutil"
)

// fixtureCase is the part of a shared/fixtures/logprobs case these tests
// read.
type fixtureCase = testutil.LogprobCase

// fixtures are the shared checkpoints with their llama.cpp numbers.
var fixtures = []struct{ name, model, adapter string }{
	{"tiny-qwen2", "tiny-qwen2", ""},
	{"tiny-qwen2-lora", "tiny-qwen2", "tiny-qwen2-lora"},
	{"tiny-llama31", "tiny-llama31", ""},
	{"tiny-llama31-lora", "tiny-llama31", "tiny-llama31-lora"},
}

// loadFixture loads a shared checkpoint (with its adapter), or skips.
func loadFixture(t *testing.T, modelName, adapter string) *engine.Engine {
	t.Helper()
	opts := engine.Options{Model: testutil.Shared(t, filepath.Join("fixtures", modelName))}
	if adapter != "" {
		opts.Adapters = []string{testutil.Shared(t, filepath.Join("fixtures", adapter))}
	}
	e, err := engine.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestFixtureScore checks /v1/score against llama.cpp: with a case's user
// text as the only message (or as the raw prompt for the case without a
// chat template), the first-token log-probabilities of the options equal the
// fixture's within 1e-4.
func TestFixtureScore(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			e := loadFixture(t, fx.model, fx.adapter)
			cases := testutil.LogprobCases(t, fx.name)
			srv := newServer(t, NewService(e, nil, Limits{}), Config{})
			for _, c := range cases {
				var options []string
				for _, o := range c.Options {
					options = append(options, o.Text)
					if ids := e.Tokenizer.EncodePlain(o.Text); ids[0] != o.ID {
						t.Fatalf("%s: option %q starts with token %d, the fixture says %d", c.ID, o.Text, ids[0], o.ID)
					}
				}
				req := map[string]any{"options": options, "token_logprobs": true}
				if strings.HasSuffix(c.ChatText, c.User) {
					// No chat template: the raw text, with the BOS that
					// Llama's tokenizer writes in front (a recognised
					// special token in a raw prompt).
					req["prompt"] = c.ChatText
				} else {
					req["messages"] = []map[string]string{{"role": "user", "content": c.User}}
				}
				body, _ := json.Marshal(req)
				status, data := post(t, srv, "/v1/score", string(body))
				if status != 200 {
					t.Fatalf("%s: %d %s", c.ID, status, data)
				}
				r := decodeResult(t, data)
				if r.PromptTokens != len(c.InputIDs) {
					t.Errorf("%s: %d prompt tokens, the fixture has %d", c.ID, r.PromptTokens, len(c.InputIDs))
				}
				worst := 0.0
				for _, o := range c.Options {
					x := rankedOf(t, r, o.Text)
					if len(x.TokenLogProbs) != x.Tokens {
						t.Fatalf("%s: option %q: %d token log-probs for %d tokens", c.ID, o.Text, len(x.TokenLogProbs), x.Tokens)
					}
					d := math.Abs(x.TokenLogProbs[0] - o.LogProb)
					if d > 1e-4 {
						t.Errorf("%s: option %q: first-token logprob %.6f, llama.cpp %.6f", c.ID, o.Text, x.TokenLogProbs[0], o.LogProb)
					}
					worst = math.Max(worst, d)
				}
				t.Logf("%s: %d tokens, max |diff| %.2g", c.ID, r.PromptTokens, worst)
			}
		})
	}
}

func rankedOf(t *testing.T, r *engine.Result, option string) engine.Ranked {
	t.Helper()
	for _, x := range r.Ranking {
		if x.Option == option {
			return x
		}
	}
	t.Fatalf("option %q missing from %+v", option, r.Ranking)
	return engine.Ranked{}
}

// matchingRequests are bodies of the matching endpoints.
var matchingRequests = []struct{ kind, body string }{
	{KindMatch, goodMatch},
	{KindMatch, `{"profile": {"text": "一名医学博士"}, "task": {"name": "医学问答审核"}, "lang": "zh"}`},
	{KindPair, `{"task": ` + taskJSON + `, "a": ` + profileJSON + `, "b": {"text": "a retired chemist"}}`},
	{KindPair, `{"profile": ` + profileJSON + `, "a": ` + taskJSON + `, "b": ` + task2JSON + `}`},
	{KindChoose, `{"profile": ` + profileJSON + `, "tasks": [` + taskJSON + `, ` + task2JSON + `, {"name": "ab"}, {"name": "a"}]}`},
}

// checkAgainstEngine checks that the matching endpoints' probabilities are
// the softmax of the options' summed log-probabilities, computed here
// through Engine.Logits one token at a time (no shared KV cache).
func checkAgainstEngine(t *testing.T, e *engine.Engine) {
	svc := NewService(e, nil, Limits{})
	srv := newServer(t, svc, Config{})
	ctx := context.Background()
	for _, rq := range matchingRequests {
		status, data := post(t, srv, "/v1/"+rq.kind, rq.body)
		if status != 200 {
			t.Fatalf("%s: %d %s", rq.kind, status, data)
		}
		got := decodeResult(t, data)

		req, err := svc.Prepare(rq.kind, []byte(rq.body))
		if err != nil {
			t.Fatal(err)
		}
		prompt, err := e.PromptIDs(req)
		if err != nil {
			t.Fatal(err)
		}
		sums := make([]float64, len(req.Options))
		for i, o := range req.Options {
			ids := append(e.Tokenizer.EncodePlain(o), e.Tokenizer.EndOfTurn()...)
			for j := range ids {
				seq := append(append([]int{}, prompt...), ids[:j]...)
				logits, err := e.Logits(ctx, seq)
				if err != nil {
					t.Fatal(err)
				}
				sums[i] += logSoftmaxAt(logits, ids[j])
			}
		}
		m := math.Inf(-1)
		for _, s := range sums {
			m = math.Max(m, s)
		}
		var z float64
		for _, s := range sums {
			z += math.Exp(s - m)
		}
		for i, o := range req.Options {
			x := rankedOf(t, got, o)
			p := math.Exp(sums[i]-m) / z
			if math.Abs(x.LogProb-sums[i]) > 1e-4 || math.Abs(x.Probability-p) > 1e-5 {
				t.Errorf("%s: option %q: probability %.7f logprob %.6f, direct %.7f %.6f",
					rq.kind, o, x.Probability, x.LogProb, p, sums[i])
			}
		}
		t.Log(rq.kind, fmt.Sprint(got.Ranking))
	}
}

// logSoftmaxAt is log_softmax(logits)[id] in float64.
func logSoftmaxAt(logits []float32, id int) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) - m)
	}
	return float64(logits[id]) - m - math.Log(z)
}

func TestMatchingAgainstEngine(t *testing.T) {
	t.Run("tiny", func(t *testing.T) { checkAgainstEngine(t, tiny) })
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) { checkAgainstEngine(t, loadFixture(t, fx.model, fx.adapter)) })
	}
}
