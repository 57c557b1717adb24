package engine

import (
	"math"
	"testing"
)

// TestAttentionGQA checks the grouped-query head mapping: with 28 query
// heads and 4 KV heads, query head h reads KV head h/7, so head 8 reads KV
// head 1 and head 27 reads KV head 3.
func TestAttentionGQA(t *testing.T) {
	const heads, kvHeads, headDim, ctx = 28, 4, 4, 3
	c := &CPU{}
	q, _ := c.Alloc(heads * headDim)
	keys, _ := c.Alloc(ctx * kvHeads * headDim)
	values, _ := c.Alloc(ctx * kvHeads * headDim)
	out, _ := c.Alloc(heads * headDim)
	// Every value row of KV head j holds j+1, so any softmax mix gives j+1.
	v := f32(values)
	for p := range ctx {
		for j := range kvHeads {
			for d := range headDim {
				v[(p*kvHeads+j)*headDim+d] = float32(j + 1)
			}
		}
	}
	// The last of ctx positions attends to all of them.
	c.Attention(out, q, keys, values, 1, heads, kvHeads, headDim, &Mask{Lo: []int{0}, Hi: []int{ctx - 1}})
	o := f32(out)
	for h, want := range map[int]float32{0: 1, 6: 1, 7: 2, 8: 2, 13: 2, 14: 3, 21: 4, 27: 4} {
		if got := o[h*headDim]; got != want {
			t.Errorf("query head %d reads KV head value %v, want %v", h, got, want)
		}
	}
}

// TestAttentionCausal checks that position i attends to positions 0..i
// only, with softmax weights from scaled dot products.
func TestAttentionCausal(t *testing.T) {
	const headDim, n = 2, 3
	c := &CPU{}
	q, _ := c.Alloc(n * headDim)
	keys, _ := c.Alloc(n * headDim)
	values, _ := c.Alloc(n * headDim)
	out, _ := c.Alloc(n * headDim)
	copy(f32(q), []float32{1, 0, 1, 0, 1, 0})
	copy(f32(keys), []float32{0, 0, 1, 0, 2, 0})
	copy(f32(values), []float32{1, 0, 0, 1, 0, 0})
	c.Attention(out, q, keys, values, n, 1, 1, headDim, &Mask{Lo: []int{0, 0, 0}, Hi: []int{0, 1, 2}})
	o := f32(out)
	s := 1 / math.Sqrt(2)
	// Position 0 sees only value 0; position 1 mixes values 0 and 1.
	w1 := 1 / (1 + math.Exp(s))
	want := []float64{1, 0, w1, 1 - w1}
	for i, wv := range want {
		if math.Abs(float64(o[i])-wv) > 1e-6 {
			t.Errorf("out[%d] = %v, want %v", i, o[i], wv)
		}
	}
}
