package lora

import (
	"fmt"
	"slices"
	"strings"

	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// Merge adds the adapter to w in place: for each adapted module
//
//	W' = W + Scale * (B @ A)
//
// computed in float32 and rounded back to W's dtype (bfloat16 and float16
// round to nearest, ties to even). Every changed matrix is a new heap Mat;
// the matrices it replaces, which may point into a read-only memory map,
// are never written. Trained biases replace the module's bias, and
// modules_to_save tensors replace the embedding or output layer (which
// unties a tied output layer unless ensure_weight_tying is set).
//
// Merge first checks the whole adapter against w's configuration and
// returns an error, leaving w unchanged, when a tensor does not fit its
// module, a target module does not exist in the architecture, a targeted
// module has no tensors, a bias tensor belongs to a module without a bias,
// or a modules_to_save tensor has another vocabulary size than the base.
func (a *Adapter) Merge(w *model.Weights) error {
	return a.MergeWith(w, MergeOptions{})
}

// MergeOptions change how MergeWith stores its results.
type MergeOptions struct {
	// KeepF32 stores every changed matrix, replaced embedding or output
	// layer and trained bias in float32, without rounding to the base's
	// dtype. It costs twice the memory of bfloat16 for the changed
	// matrices and reproduces references that merge in float32 and keep
	// the float32 result (the shared llama.cpp fixtures do). Writing such
	// weights with WriteMerged rounds them to bfloat16, which gives
	// exactly what Merge without KeepF32 gives.
	KeepF32 bool
}

// MergeWith is Merge with options.
func (a *Adapter) MergeWith(w *model.Weights, opt MergeOptions) error {
	if w == nil || w.Config == nil {
		return fmt.Errorf("lora: Merge needs weights with a config")
	}
	if len(w.Layers) != w.Config.Layers {
		return fmt.Errorf("lora: weights have %d layers, their config %d", len(w.Layers), w.Config.Layers)
	}
	if err := a.Check(w.Config); err != nil {
		return err
	}
	for i := range a.Deltas {
		d := &a.Deltas[i]
		lin, _ := w.Module(d.Layer, d.Proj)
		if lin.W.Rows != d.Out || lin.W.Cols != d.In {
			return fmt.Errorf("lora: %s: weight is [%d, %d], adapter wants [%d, %d]",
				d.Module, lin.W.Rows, lin.W.Cols, d.Out, d.In)
		}
	}
	for _, r := range a.Replace {
		dst := w.Embed
		if r.Module == "lm_head" {
			dst = w.Output
		}
		if dst.Rows != r.Tensor.Shape[0] || dst.Cols != r.Tensor.Shape[1] {
			return fmt.Errorf("lora: tensor %q has shape %v, the base %s is [%d, %d]",
				r.Tensor.Name, r.Tensor.Shape, r.Module, dst.Rows, dst.Cols)
		}
	}

	base := map[string]kernels.DType{} // dtype of each module before the merge
	for _, b := range a.Biases {
		lin, _ := w.Module(b.Layer, b.Proj)
		base[b.Module] = lin.W.DType
	}
	for i := range a.Deltas {
		d := &a.Deltas[i]
		lin, _ := w.Module(d.Layer, d.Proj)
		lin.W = MergeMatAs(lin.W, d, opt.dtype(lin.W.DType))
	}
	for _, b := range a.Biases {
		lin, _ := w.Module(b.Layer, b.Proj)
		lin.Bias = roundTo(b.Values, opt.dtype(base[b.Module]))
	}
	tie := a.Config.EnsureWeightTying && w.Tied
	for _, r := range a.Replace {
		switch r.Module {
		case "model.embed_tokens":
			w.Embed = tensorMat(r.Tensor, opt.dtype(w.Embed.DType))
			if tie {
				w.Output = w.Embed
			}
		case "lm_head":
			w.Output = tensorMat(r.Tensor, opt.dtype(w.Output.DType))
			if tie {
				w.Embed = w.Output
			}
		}
	}
	if w.Tied && !tie && len(a.Replace) > 0 {
		// PEFT trains a copy of the saved module; the other one keeps
		// the base weights, so the two are no longer one matrix.
		w.Tied = false
	}
	return nil
}

// dtype is the dtype results are stored in for a base matrix of dtype dt.
func (opt MergeOptions) dtype(dt kernels.DType) kernels.DType {
	if opt.KeepF32 {
		return kernels.F32
	}
	return dt
}

// Check checks the adapter against a base configuration without merging:
// every check Merge makes that does not need the weights themselves.
func (a *Adapter) Check(c *model.Config) error {
	if err := a.Config.checkTargets(c); err != nil {
		return err
	}
	have := map[string]bool{}
	for _, d := range a.Deltas {
		if d.Layer >= c.Layers {
			return fmt.Errorf("lora: tensor %q: layer %d, but the base has %d layers", d.aName, d.Layer, c.Layers)
		}
		out, in := c.ModuleShape(d.Proj)
		if d.Out != out || d.In != in {
			return fmt.Errorf("lora: tensors %q [%d, %d] and %q [%d, %d] do not fit %s, which is [%d, %d] (out, in) in the base",
				d.aName, d.Rank, d.In, d.bName, d.Out, d.Rank, d.Module, out, in)
		}
		have[d.Module] = true
	}
	for i := range c.Layers {
		for _, m := range linearModules {
			name := model.ModulePath(i, m)
			if a.Config.Targets(name) && !have[name] {
				return fmt.Errorf("lora: %s targets %s, but %s has no lora_A/lora_B tensors for it",
					ConfigFile, name, WeightsFile)
			}
		}
	}
	for _, b := range a.Biases {
		if b.Layer >= c.Layers {
			return fmt.Errorf("lora: tensor %q: layer %d, but the base has %d layers", b.name, b.Layer, c.Layers)
		}
		if !c.HasBias(b.Proj) {
			return fmt.Errorf("lora: tensor %q: %s has no bias in the base %s, so the bias (bias %q) cannot be applied",
				b.name, b.Module, c.Architecture, a.Config.Bias)
		}
		if out, _ := c.ModuleShape(b.Proj); len(b.Values) != out {
			return fmt.Errorf("lora: tensor %q has %d values, %s has %d outputs", b.name, len(b.Values), b.Module, out)
		}
	}
	for _, r := range a.Replace {
		vocab, hidden := r.Tensor.Shape[0], r.Tensor.Shape[1]
		if vocab != c.Vocab {
			return fmt.Errorf("lora: tensor %q (modules_to_save %s) has a vocabulary of %d, the base has %d: resized vocabularies are not supported",
				r.Tensor.Name, r.Module, vocab, c.Vocab)
		}
		if hidden != c.Hidden {
			return fmt.Errorf("lora: tensor %q has shape %v, want [%d, %d]", r.Tensor.Name, r.Tensor.Shape, c.Vocab, c.Hidden)
		}
	}
	return nil
}

// archModules lists the module names of a Qwen2 or Llama causal LM with the
// given number of layers (torch's named_modules), split into the linear
// modules a LoRA can merge into and all the others.
func archModules(layers int) (linear, other []string) {
	other = []string{"model", "model.embed_tokens", "model.layers", "model.norm", "model.rotary_emb", "lm_head"}
	for i := range layers {
		p := fmt.Sprintf("model.layers.%d", i)
		other = append(other, p, p+".self_attn", p+".self_attn.rotary_emb", p+".mlp", p+".mlp.act_fn",
			p+".input_layernorm", p+".post_attention_layernorm")
		for _, m := range linearModules {
			linear = append(linear, model.ModulePath(i, m))
		}
	}
	return linear, other
}

// checkTargets refuses target_modules that name modules the architecture
// does not have or that are not linear layers, and a configuration that
// targets nothing.
func (cfg *Config) checkTargets(c *model.Config) error {
	linear, other := archModules(c.Layers)
	refuse := func(what, module string) error {
		switch {
		case module == "model.embed_tokens" || module == "lm_head":
			return fmt.Errorf("lora: %s: %s selects %s: LoRA on the embedding or output layer is not supported",
				ConfigFile, what, module)
		}
		return fmt.Errorf("lora: %s: %s selects %s, which is not a linear layer: LoRA merges only into %s",
			ConfigFile, what, module, strings.Join(linearModules, ", "))
	}
	if cfg.targetRe != nil {
		what := fmt.Sprintf("target_modules %q", cfg.TargetRegex)
		for _, m := range other {
			if cfg.targetRe.MatchString(m) && !cfg.excluded(m) {
				return refuse(what, m)
			}
		}
	} else {
		for _, t := range cfg.TargetModules {
			what := fmt.Sprintf("target_modules entry %q", t)
			match := func(m string) bool { return m == t || strings.HasSuffix(m, "."+t) }
			if i := slices.IndexFunc(other, match); i >= 0 {
				return refuse(what, other[i])
			}
			if !slices.ContainsFunc(linear, match) {
				return fmt.Errorf("lora: %s: %s: %s has no such module", ConfigFile, what, c.Architecture)
			}
		}
	}
	if !slices.ContainsFunc(linear, cfg.Targets) {
		return fmt.Errorf("lora: %s: target_modules selects no module of the base (%d layers)", ConfigFile, c.Layers)
	}
	return nil
}

// MergeMat returns a new heap matrix w + d.Scale * (d.B @ d.A) in w's
// dtype; MergeMatAs(w, d, w.DType). The product and the sum are computed in float32: for each
// element, the rank-sized dot product is accumulated in order, scaled, added
// to the weight and rounded once. Rows are split over kernels.ParallelFor.
// MergeMat panics if w is not [d.Out, d.In].
func MergeMat(w kernels.Mat, d *Delta) kernels.Mat {
	return MergeMatAs(w, d, w.DType)
}

// MergeMatAs is MergeMat with the result stored in dtype dt. Since both
// round the same float32 sum once, rounding a float32 result of MergeMatAs
// to bfloat16 gives exactly MergeMat's bfloat16 result.
func MergeMatAs(w kernels.Mat, d *Delta, dt kernels.DType) kernels.Mat {
	checkDelta(w, d)
	rows, cols, r := w.Rows, w.Cols, d.Rank
	out := newMat(dt, rows, cols)

	// B·A is a matrix product x w^T with x = B [out, r] and w = A^T
	// [in, r], which the kernels' MatMul computes (SIMD where the CPU has
	// it), block by block of output rows.
	at := transposeA(d)
	atm := kernels.Mat{DType: kernels.F32, Rows: cols, Cols: r, F32: at}
	s := float32(d.Scale)
	const block = 32 // output rows per MatMul: block*cols floats of delta
	delta := make([]float32, block*cols)
	buf := make([]float32, block*cols)
	for r0 := 0; r0 < rows; r0 += block {
		n := min(block, rows-r0)
		kernels.MatMul(delta[:n*cols], d.B[r0*r:(r0+n)*r], n, atm)
		kernels.ParallelFor(n, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				row := buf[o*cols : (o+1)*cols]
				w.Row(r0+o, row)
				for j, v := range delta[o*cols : (o+1)*cols] {
					row[j] += s * v
				}
				storeRows(out, r0+o, row)
			}
		})
	}
	return out
}

// mergeMatScalar is MergeMatAs with plain Go loops for B·A: the reference
// that tests and benchmarks compare the kernel path with.
func mergeMatScalar(w kernels.Mat, d *Delta, dt kernels.DType) kernels.Mat {
	checkDelta(w, d)
	rows, cols, r := w.Rows, w.Cols, d.Rank
	out := newMat(dt, rows, cols)

	at := transposeA(d)
	s := float32(d.Scale)
	const block = 4 // rows updated together, sharing the loads of at
	kernels.ParallelFor((rows+block-1)/block, func(lo, hi int) {
		buf := make([]float32, block*cols)
		for blk := lo; blk < hi; blk++ {
			r0, r1 := blk*block, min(blk*block+block, rows)
			for o := r0; o < r1; o++ {
				w.Row(o, buf[(o-r0)*cols:(o-r0+1)*cols])
			}
			if r1-r0 == block {
				update4(buf, d.B[r0*r:r1*r], at, r, cols, s)
			} else {
				for o := r0; o < r1; o++ {
					update1(buf[(o-r0)*cols:(o-r0+1)*cols], d.B[o*r:(o+1)*r], at, r, s)
				}
			}
			storeRows(out, r0, buf[:(r1-r0)*cols])
		}
	})
	return out
}

// checkDelta panics unless d fits w.
func checkDelta(w kernels.Mat, d *Delta) {
	if w.Rows != d.Out || w.Cols != d.In || len(d.A) != d.Rank*d.In || len(d.B) != d.Out*d.Rank {
		panic(fmt.Sprintf("lora: MergeMat: weight [%d, %d] with delta A [%d, %d] B [%d, %d]",
			w.Rows, w.Cols, d.Rank, d.In, d.Out, d.Rank))
	}
}

// transposeA returns A transposed, [in, r]: the r values that meet one
// weight column lie next to each other.
func transposeA(d *Delta) []float32 {
	at := make([]float32, d.In*d.Rank)
	for k := range d.Rank {
		for j, v := range d.A[k*d.In : (k+1)*d.In] {
			at[j*d.Rank+k] = v
		}
	}
	return at
}

// update1 adds s * (b @ at^T) to one row x [in]: x[j] += s * sum_k b[k] at[j, k].
func update1(x, b, at []float32, r int, s float32) {
	b = b[:r]
	for j := range x {
		a := at[j*r : j*r+r]
		var d float32
		for k, bk := range b {
			d += float32(bk * a[k])
		}
		x[j] += float32(s * d)
	}
}

// update4 is update1 for four consecutive rows x [4, in] and b [4, r],
// two columns at a time: eight independent sums share each load of at.
func update4(x, b, at []float32, r, in int, s float32) {
	x0, x1, x2, x3 := x[:in], x[in:2*in], x[2*in:3*in], x[3*in:4*in]
	b0, b1, b2, b3 := b[:r], b[r:2*r], b[2*r:3*r], b[3*r:4*r]
	j := 0
	for ; j+1 < in; j += 2 {
		a := at[j*r : j*r+r]
		c := at[j*r+r : j*r+2*r]
		c, b0, b1, b2, b3 := c[:len(a)], b0[:len(a)], b1[:len(a)], b2[:len(a)], b3[:len(a)]
		var d0, d1, d2, d3, e0, e1, e2, e3 float32
		for k, ak := range a {
			ck := c[k]
			v0, v1, v2, v3 := b0[k], b1[k], b2[k], b3[k]
			d0 += float32(v0 * ak)
			e0 += float32(v0 * ck)
			d1 += float32(v1 * ak)
			e1 += float32(v1 * ck)
			d2 += float32(v2 * ak)
			e2 += float32(v2 * ck)
			d3 += float32(v3 * ak)
			e3 += float32(v3 * ck)
		}
		x0[j] += float32(s * d0)
		x1[j] += float32(s * d1)
		x2[j] += float32(s * d2)
		x3[j] += float32(s * d3)
		x0[j+1] += float32(s * e0)
		x1[j+1] += float32(s * e1)
		x2[j+1] += float32(s * e2)
		x3[j+1] += float32(s * e3)
	}
	if j < in {
		for i, xi := range [][]float32{x0, x1, x2, x3} {
			update1(xi[j:], b[i*r:(i+1)*r], at[j*r:], r, s)
		}
	}
}

// newMat allocates a zero [rows, cols] matrix of dtype dt.
func newMat(dt kernels.DType, rows, cols int) kernels.Mat {
	m := kernels.Mat{DType: dt, Rows: rows, Cols: cols}
	if dt == kernels.F32 {
		m.F32 = make([]float32, rows*cols)
	} else {
		m.U16 = make([]uint16, rows*cols)
	}
	return m
}

// storeRows writes float32 values into m from row r0 on, rounding them to
// m's dtype.
func storeRows(m kernels.Mat, r0 int, vals []float32) {
	off := r0 * m.Cols
	switch m.DType {
	case kernels.F32:
		copy(m.F32[off:], vals)
	case kernels.BF16:
		dst := m.U16[off : off+len(vals)]
		for i, v := range vals {
			dst[i] = kernels.F32ToBF16(v)
		}
	case kernels.F16:
		dst := m.U16[off : off+len(vals)]
		for i, v := range vals {
			dst[i] = kernels.F32ToF16(v)
		}
	}
}

// roundTo returns a copy of v with each value rounded to dtype dt and back,
// so that a bias holds exactly what a checkpoint of that dtype would.
func roundTo(v []float32, dt kernels.DType) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		switch dt {
		case kernels.BF16:
			x = kernels.BF16ToF32(kernels.F32ToBF16(x))
		case kernels.F16:
			x = kernels.F16ToF32(kernels.F32ToF16(x))
		}
		out[i] = x
	}
	return out
}

// tensorMat copies a 2-D tensor into a new heap matrix of dtype dt.
func tensorMat(t *model.Tensor, dt kernels.DType) kernels.Mat {
	rows, cols := t.Shape[0], t.Shape[1]
	out := newMat(dt, rows, cols)
	src := t.Mat()
	if src.DType == dt {
		if dt == kernels.F32 {
			copy(out.F32, src.F32)
		} else {
			copy(out.U16, src.U16)
		}
		return out
	}
	kernels.ParallelFor(rows, func(lo, hi int) {
		buf := make([]float32, cols)
		for o := lo; o < hi; o++ {
			src.Row(o, buf)
			storeRows(out, o, buf)
		}
	})
	return out
}
