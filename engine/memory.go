package engine

import "github.com/taskmatch/taskmatch/model"

// MemoryEst is an estimate of the memory that serving a model needs, in
// bytes.
type MemoryEst struct {
	Weights int64 `json:"weights"`  // weights as stored, plus matrices rewritten by adapters
	KVCache int64 `json:"kv_cache"` // float32 keys and values, all layers and slots
	Buffers int64 `json:"buffers"`  // activations and logits
	Total   int64 `json:"total"`
	Context int   `json:"context"`
	Slots   int   `json:"slots"`
}

// EstimateMemory estimates what Load allocates for c with ctx positions per
// sequence, slots sequences and batch positions per forward step.
func EstimateMemory(c *model.Config, weightBytes int64, ctx, slots, batch int) MemoryEst {
	kv := int64(c.KVHeads * c.HeadDim)
	m := MemoryEst{Weights: weightBytes, Context: ctx, Slots: slots}
	m.KVCache = int64(slots) * int64(ctx) * int64(c.Layers) * 2 * kv * 4
	q := int64(c.Heads * c.HeadDim)
	perSeq := int64(batch)*(3*int64(c.Hidden)+2*q+2*int64(c.Intermediate)+int64(c.Hidden))*4 +
		logitRows*int64(c.Vocab)*4
	m.Buffers = int64(slots) * perSeq
	m.Total = m.Weights + m.KVCache + m.Buffers
	return m
}
