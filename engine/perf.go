package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// PerfResult is what Perf measures.
type PerfResult struct {
	PromptTokens   int     `json:"prompt_tokens"`
	DecodeTokens   int     `json:"decode_tokens"`
	PrefillSeconds float64 `json:"prefill_seconds"`
	DecodeSeconds  float64 `json:"decode_seconds"`
	PrefillTPS     float64 `json:"prefill_tokens_per_s"`
	DecodeTPS      float64 `json:"decode_tokens_per_s"`
}

// Perf times a prefill of promptTokens random tokens from an empty cache,
// then decode steps of one token each with logits, as generation does.
func (e *Engine) Perf(ctx context.Context, promptTokens, decode int) (*PerfResult, error) {
	if promptTokens <= 0 || decode < 0 || promptTokens+decode > e.ctxLen {
		return nil, fmt.Errorf("engine: perf needs 0 < prompt tokens (%d) and prompt + decode (%d) within the context of %d",
			promptTokens, promptTokens+decode, e.ctxLen)
	}
	s, err := e.acquire(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer e.release(s)
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]int, promptTokens)
	for i := range ids {
		ids[i] = r.IntN(e.Config.Vocab)
	}
	logits := [][]float32{make([]float32, e.Config.Vocab)}
	s.Truncate(0)
	t0 := time.Now()
	if err := s.Forward(ctx, ids, []int{promptTokens - 1}, logits); err != nil {
		return nil, err
	}
	res := &PerfResult{PromptTokens: promptTokens, DecodeTokens: decode, PrefillSeconds: time.Since(t0).Seconds()}
	t1 := time.Now()
	for range decode {
		next := argmax(logits[0])
		if err := s.Forward(ctx, []int{next}, []int{0}, logits); err != nil {
			return nil, err
		}
	}
	res.DecodeSeconds = time.Since(t1).Seconds()
	s.Truncate(0)
	res.PrefillTPS = float64(promptTokens) / res.PrefillSeconds
	if decode > 0 {
		res.DecodeTPS = float64(decode) / res.DecodeSeconds
	}
	return res, nil
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
