package engine

import (
	"context"
	"fmt"

	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// devLayer is one decoder layer made resident on its backend. Shapes as in
// model.Layer.
type devLayer struct {
	attnNorm, mlpNorm Buffer // [hidden]
	q, k, v, o        Matrix
	qb, kb, vb, ob    Buffer // biases or nil
	gate, up, down    Matrix
}

// part is a contiguous range of layers placed on one backend.
type part struct {
	b      Backend
	first  int // index of the first layer
	layers []devLayer
}

// Net is a model placed on one or more backends: the embedding on the first,
// the final norm and output layer on the last, the layers spread between.
type Net struct {
	Config  *model.Config
	parts   []*part
	embed   Matrix // on parts[0].b: [vocab, hidden]
	norm    Buffer // on the last backend: [hidden]
	output  Matrix // on the last backend: [vocab, hidden]
	invFreq []float64
	eps     float32
}

// Placement assigns layers to backends: Layers[i] is the number of
// consecutive layers the i-th backend runs. The sum must equal the number of
// layers.
type Placement struct {
	Backends []Backend
	Layers   []int
}

// NewNet makes the weights resident following the placement.
func NewNet(w *model.Weights, pl Placement) (*Net, error) {
	c := w.Config
	if len(pl.Backends) == 0 || len(pl.Backends) != len(pl.Layers) {
		return nil, fmt.Errorf("engine: placement needs one layer count per backend")
	}
	sum := 0
	for _, n := range pl.Layers {
		if n < 0 {
			return nil, fmt.Errorf("engine: negative layer count in placement")
		}
		sum += n
	}
	if sum != c.Layers {
		return nil, fmt.Errorf("engine: placement covers %d layers, model has %d", sum, c.Layers)
	}
	var scaling *kernels.Llama3Scaling
	if rs := c.RopeScaling; rs != nil {
		scaling = &kernels.Llama3Scaling{Factor: rs.Factor, LowFreqFactor: rs.LowFreqFactor,
			HighFreqFactor: rs.HighFreqFactor, OriginalMaxPos: rs.OriginalMaxPos}
	}
	n := &Net{Config: c, invFreq: kernels.RopeInvFreq(c.HeadDim, c.RopeTheta, scaling), eps: float32(c.RMSNormEps)}
	var err error
	first := 0
	for bi, b := range pl.Backends {
		p := &part{b: b, first: first}
		for i := first; i < first+pl.Layers[bi]; i++ {
			dl, err := upload(b, &w.Layers[i])
			if err != nil {
				return nil, fmt.Errorf("engine: layer %d on %s: %w", i, b.Name(), err)
			}
			p.layers = append(p.layers, dl)
		}
		first += pl.Layers[bi]
		n.parts = append(n.parts, p)
	}
	if n.embed, err = pl.Backends[0].Matrix(w.Embed); err != nil {
		return nil, err
	}
	last := pl.Backends[len(pl.Backends)-1]
	if n.norm, err = last.Vector(w.Norm); err != nil {
		return nil, err
	}
	if n.output, err = last.Matrix(w.Output); err != nil {
		return nil, err
	}
	return n, nil
}

func upload(b Backend, l *model.Layer) (devLayer, error) {
	var d devLayer
	var err error
	vec := func(v []float32) Buffer {
		if v == nil || err != nil {
			return nil
		}
		var buf Buffer
		buf, err = b.Vector(v)
		return buf
	}
	mat := func(lin *model.Linear) Matrix {
		if err != nil {
			return nil
		}
		var m Matrix
		m, err = b.Matrix(lin.W)
		return m
	}
	d.attnNorm, d.mlpNorm = vec(l.AttnNorm), vec(l.MLPNorm)
	d.q, d.k, d.v, d.o = mat(&l.Q), mat(&l.K), mat(&l.V), mat(&l.O)
	d.qb, d.kb, d.vb, d.ob = vec(l.Q.Bias), vec(l.K.Bias), vec(l.V.Bias), vec(l.O.Bias)
	d.gate, d.up, d.down = mat(&l.Gate), mat(&l.Up), mat(&l.Down)
	return d, err
}

// partState is a sequence's buffers on one backend.
type partState struct {
	keys, values []Buffer // per layer: [ctx, kvHeads*headDim]
	x            Buffer   // residual stream [batch, hidden]
	xb           Buffer   // normed input [batch, hidden]
	q, att       Buffer   // [batch, heads*headDim]
	gate, up     Buffer   // [batch, intermediate]
	out          Buffer   // layer output [batch, hidden]
}

// logitRows bounds how many positions get logits at once.
const logitRows = 8

// Seq is one sequence being evaluated: its KV cache and work buffers. A Seq
// is not safe for concurrent use.
type Seq struct {
	net    *Net
	ctx    int // capacity in positions
	batch  int // positions per forward step
	tokens []int
	parts  []partState
	host   []float32   // [batch, hidden]: moves the residual stream between backends
	pos    []int       // [batch]: RoPE positions of a step's rows
	mask   Mask        // a step's attention rows; Lo and Hi are [batch]
	lbuf   Buffer      // [logitRows, vocab] on the last backend
	lhost  [][]float32 // host logits rows reused by scoring, each [vocab]
}

// scratchLogits returns n host buffers of vocab floats owned by s, reused
// from call to call.
func (s *Seq) scratchLogits(n, vocab int) [][]float32 {
	for len(s.lhost) < n {
		s.lhost = append(s.lhost, make([]float32, vocab))
	}
	return s.lhost[:n]
}

// NewSeq allocates a sequence of up to ctx positions that runs up to batch
// positions per step.
func (n *Net) NewSeq(ctx, batch int) (*Seq, error) {
	c := n.Config
	if ctx <= 0 || batch <= 0 {
		return nil, fmt.Errorf("engine: context %d and batch %d must be positive", ctx, batch)
	}
	if batch > ctx {
		batch = ctx
	}
	s := &Seq{net: n, ctx: ctx, batch: batch, host: make([]float32, batch*c.Hidden), pos: make([]int, batch),
		mask: Mask{Lo: make([]int, batch), Hi: make([]int, batch)}}
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	var err error
	alloc := func(b Backend, size int) Buffer {
		if err != nil {
			return nil
		}
		var buf Buffer
		buf, err = b.Alloc(size)
		return buf
	}
	for _, p := range n.parts {
		ps := partState{
			x: alloc(p.b, batch*c.Hidden), xb: alloc(p.b, batch*c.Hidden), out: alloc(p.b, batch*c.Hidden),
			q: alloc(p.b, batch*q), att: alloc(p.b, batch*q),
			gate: alloc(p.b, batch*c.Intermediate), up: alloc(p.b, batch*c.Intermediate),
		}
		for range p.layers {
			ps.keys = append(ps.keys, alloc(p.b, ctx*kv))
			ps.values = append(ps.values, alloc(p.b, ctx*kv))
		}
		s.parts = append(s.parts, ps)
	}
	s.lbuf = alloc(n.parts[len(n.parts)-1].b, logitRows*c.Vocab)
	if err != nil {
		return nil, fmt.Errorf("engine: allocating a sequence of %d positions: %w", ctx, err)
	}
	return s, nil
}

// Len is the number of positions in the cache.
func (s *Seq) Len() int { return len(s.tokens) }

// Cap is the number of positions the cache can hold.
func (s *Seq) Cap() int { return s.ctx }

// Tokens are the token ids in the cache. The slice must not be modified.
func (s *Seq) Tokens() []int { return s.tokens }

// Truncate drops every position from n on; the cache keeps 0..n-1.
func (s *Seq) Truncate(n int) {
	if n < len(s.tokens) {
		s.tokens = s.tokens[:max(n, 0)]
	}
}

// Forward appends ids to the sequence and runs the model over them. For each
// k, out[k] (len vocab) receives the logits after ids[rows[k]]; rows must be
// increasing. It stops with ctx's error when ctx is done, leaving the
// sequence at the positions completed so far.
func (s *Seq) Forward(ctx context.Context, ids []int, rows []int, out [][]float32) error {
	return s.forward(ctx, ids, nil, nil, 0, rows, out)
}

// ForwardBranches runs several continuations of the tokens in the cache at
// once, as if each followed them alone: branch b's tokens take positions
// Len(), Len()+1, ... and attend to the cached tokens and to their own
// branch only. out[k] receives the logits after the k-th token of the
// branches taken in order (len(out) = the total number of branch tokens).
// The cache is back at its length before the call when it returns: the
// numbers equal those of running each branch with Forward and truncating in
// between, bit for bit.
func (s *Seq) ForwardBranches(ctx context.Context, branches [][]int, out [][]float32) error {
	prefix := len(s.tokens)
	defer s.Truncate(prefix)
	var ids, pos, lo []int
	for _, br := range branches {
		first := prefix + len(ids) // cache row of the branch's first token
		for j, id := range br {
			ids = append(ids, id)
			pos = append(pos, prefix+j)
			lo = append(lo, first)
		}
	}
	rows := make([]int, len(ids))
	for i := range rows {
		rows[i] = i
	}
	return s.forward(ctx, ids, pos, lo, prefix, rows, out)
}

// forward runs ids in steps of at most s.batch. pos and lo are nil for a
// causal continuation of the cache; otherwise they give each token's RoPE
// position and the first cache row of its branch, and prefix the rows every
// token attends to.
func (s *Seq) forward(ctx context.Context, ids, pos, lo []int, prefix int, rows []int, out [][]float32) error {
	c := s.net.Config
	if len(rows) != len(out) {
		return fmt.Errorf("engine: %d logit rows but %d outputs", len(rows), len(out))
	}
	if len(s.tokens)+len(ids) > s.ctx {
		return fmt.Errorf("engine: %d positions exceed the context of %d", len(s.tokens)+len(ids), s.ctx)
	}
	for _, id := range ids {
		if id < 0 || id >= c.Vocab {
			return fmt.Errorf("engine: token id %d outside the vocabulary (%d)", id, c.Vocab)
		}
	}
	for k := range rows {
		if rows[k] < 0 || rows[k] >= len(ids) || (k > 0 && rows[k] <= rows[k-1]) {
			return fmt.Errorf("engine: bad logit rows %v", rows)
		}
		if len(out[k]) != c.Vocab {
			return fmt.Errorf("engine: logits buffer of %d, want %d", len(out[k]), c.Vocab)
		}
	}
	next := 0 // next entry of rows
	for off := 0; off < len(ids); off += s.batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(off+s.batch, len(ids))
		start := len(s.tokens)
		n := end - off
		m := &s.mask
		m.Lo, m.Hi = m.Lo[:n], m.Hi[:n]
		for i := range n {
			m.Hi[i] = start + i
			if pos == nil {
				s.pos[i], m.Lo[i] = start+i, 0
			} else {
				s.pos[i], m.Lo[i] = pos[off+i], lo[off+i]
			}
		}
		m.Prefix = prefix
		var want []int // rows of this chunk, relative to it
		for next+len(want) < len(rows) && rows[next+len(want)] < end {
			want = append(want, rows[next+len(want)]-off)
		}
		if err := s.step(ids[off:end], want, out[next:next+len(want)]); err != nil {
			return err
		}
		next += len(want)
	}
	return nil
}

// step runs one chunk of at most s.batch positions through every layer,
// with the positions and mask already in s.pos and s.mask.
func (s *Seq) step(ids []int, rows []int, out [][]float32) error {
	n, c := len(ids), s.net.Config
	start := len(s.tokens)
	pos := s.pos[:n]
	h := c.Hidden
	for pi, p := range s.net.parts {
		ps := &s.parts[pi]
		x := p.b.View(ps.x, 0, n*h)
		if pi == 0 {
			p.b.Embed(x, s.net.embed, ids)
		} else {
			p.b.Upload(x, s.host[:n*h])
		}
		for li := range p.layers {
			s.layer(p.b, &p.layers[li], ps, li, n, start, pos)
		}
		if pi < len(s.net.parts)-1 {
			p.b.Download(s.host[:n*h], x)
		}
		if err := p.b.Sync(); err != nil {
			return fmt.Errorf("engine: %s: %w", p.b.Name(), err)
		}
	}
	s.tokens = append(s.tokens, ids...)
	return s.logits(rows, out)
}

// layer runs decoder layer li of a part over n positions, in place on ps.x.
func (s *Seq) layer(b Backend, l *devLayer, ps *partState, li, n, start int, pos []int) {
	c := s.net.Config
	h, qd, kvd := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	x, xb, out := b.View(ps.x, 0, n*h), b.View(ps.xb, 0, n*h), b.View(ps.out, 0, n*h)
	q, att := b.View(ps.q, 0, n*qd), b.View(ps.att, 0, n*qd)
	k := b.View(ps.keys[li], start*kvd, n*kvd)
	v := b.View(ps.values[li], start*kvd, n*kvd)

	// Attention block: h = x + o_proj(attn(rope(q_proj(norm(x))), rope(k_proj(..)), v_proj(..)))
	b.RMSNorm(xb, x, n, l.attnNorm, s.net.eps)
	b.MatMul(q, xb, n, l.q)
	b.MatMul(k, xb, n, l.k) // written straight into the cache rows of these positions
	b.MatMul(v, xb, n, l.v)
	if l.qb != nil {
		b.AddBias(q, n, l.qb)
		b.AddBias(k, n, l.kb)
		b.AddBias(v, n, l.vb)
	}
	b.RoPE(q, n, c.Heads, c.HeadDim, pos, s.net.invFreq)
	b.RoPE(k, n, c.KVHeads, c.HeadDim, pos, s.net.invFreq)
	keys := b.View(ps.keys[li], 0, (start+n)*kvd)
	values := b.View(ps.values[li], 0, (start+n)*kvd)
	b.Attention(att, q, keys, values, n, c.Heads, c.KVHeads, c.HeadDim, &s.mask)
	b.MatMul(out, att, n, l.o)
	if l.ob != nil {
		b.AddBias(out, n, l.ob)
	}
	b.Add(x, out)

	// MLP block: x = x + down_proj(silu(gate_proj(norm(x))) * up_proj(norm(x)))
	gate, up := b.View(ps.gate, 0, n*c.Intermediate), b.View(ps.up, 0, n*c.Intermediate)
	b.RMSNorm(xb, x, n, l.mlpNorm, s.net.eps)
	b.MatMul(gate, xb, n, l.gate)
	b.MatMul(up, xb, n, l.up)
	b.SiLUMul(gate, up)
	b.MatMul(out, gate, n, l.down)
	b.Add(x, out)
}

// logits applies the final norm and the output layer to the asked rows of
// the last chunk, at most logitRows at a time.
func (s *Seq) logits(rows []int, out [][]float32) error {
	if len(rows) == 0 {
		return nil
	}
	c := s.net.Config
	h := c.Hidden
	last := s.net.parts[len(s.net.parts)-1]
	ps := &s.parts[len(s.parts)-1]
	b := last.b
	for off := 0; off < len(rows); off += logitRows {
		k := min(logitRows, len(rows)-off)
		// Gather the asked rows of the residual stream into out [k, hidden],
		// then norm them into xb [k, hidden].
		for j := range k {
			src := b.View(ps.x, rows[off+j]*h, h)
			dst := b.View(ps.out, j*h, h)
			copyBuf(b, dst, src, s.host[:h])
		}
		xb := b.View(ps.xb, 0, k*h)
		b.RMSNorm(xb, b.View(ps.out, 0, k*h), k, s.net.norm, s.net.eps)
		lg := b.View(s.lbuf, 0, k*c.Vocab)
		b.MatMul(lg, xb, k, s.net.output)
		for j := range k {
			b.Download(out[off+j], b.View(s.lbuf, j*c.Vocab, c.Vocab))
		}
	}
	return b.Sync()
}

// copyBuf copies src to dst on one backend through a host buffer tmp.
func copyBuf(b Backend, dst, src Buffer, tmp []float32) {
	b.Download(tmp, src)
	b.Upload(dst, tmp)
}
