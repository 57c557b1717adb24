package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/taskmatch/taskmatch/tokenizer"
)

// Mode selects how options are scored.
type Mode string

const (
	// ModeFull scores every option by the teacher-forced sum of its tokens'
	// log-probabilities: exact, one short forward pass per option.
	ModeFull Mode = "full"
	// ModeGreedy walks a token trie of the options, taking the most likely
	// allowed token at each step. It commits to the first token: options
	// that leave the greedy path are scored only up to where they leave it.
	// It is cheaper for long option lists that share prefixes.
	ModeGreedy Mode = "greedy"
)

// Request is one prompt with the options to choose from.
type Request struct {
	// Messages is a chat rendered with the checkpoint's template and the
	// generation prompt. Message contents never become control tokens.
	Messages []tokenizer.Message
	// Prompt is raw text, used when Messages is empty. Special tokens
	// written in it are recognised.
	Prompt string
	// Options are the allowed answers; each is scored as the assistant's
	// reply followed by the end-of-turn token.
	Options []string
	// Mode is ModeFull (the default) or ModeGreedy.
	Mode Mode
	// TokenLogProbs asks for the per-token log-probabilities of each option.
	TokenLogProbs bool
}

// Ranked is one option's score.
type Ranked struct {
	Option        string    `json:"option"`
	Probability   float64   `json:"probability"`              // softmax over the options' sums
	LogProb       float64   `json:"logprob"`                  // summed log-probability of its tokens
	Tokens        int       `json:"tokens"`                   // tokens scored, end-of-turn included
	TokenLogProbs []float64 `json:"token_logprobs,omitempty"` // per token, when asked
}

// Result is the answer to a Request.
type Result struct {
	Answer       string   `json:"answer"`
	Ranking      []Ranked `json:"ranking"` // best first
	PromptTokens int      `json:"prompt_tokens"`
}

// ErrBadRequest marks errors caused by the request rather than the engine.
var ErrBadRequest = errors.New("engine: bad request")

// ErrNonFinite is returned when the model produces NaN or infinite
// log-probabilities, as broken weights (or an adapter with absurd values)
// do: the answer would be meaningless.
var ErrNonFinite = errors.New("engine: the model produced non-finite log-probabilities (broken weights?)")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

// PromptIDs tokenizes the request's prompt as the engine will evaluate it.
func (e *Engine) PromptIDs(req *Request) ([]int, error) {
	if e.Tokenizer == nil {
		return nil, errors.New("engine: the model was loaded without a tokenizer")
	}
	if len(req.Messages) > 0 {
		ids, err := e.Tokenizer.EncodeChat(req.Messages, true)
		if err != nil {
			return nil, badRequest("%v", err)
		}
		return ids, nil
	}
	if req.Prompt == "" {
		return nil, badRequest("no messages and no prompt")
	}
	return e.Tokenizer.Encode(req.Prompt), nil
}

// OptionIDs tokenizes options as they appear after the generation prompt,
// each followed by the end-of-turn token(s). Empty or duplicated options are
// errors.
func (e *Engine) OptionIDs(options []string) ([][]int, error) {
	if e.Tokenizer == nil {
		return nil, errors.New("engine: the model was loaded without a tokenizer")
	}
	if len(options) == 0 {
		return nil, badRequest("no options")
	}
	eot := e.Tokenizer.EndOfTurn()
	if len(eot) == 0 {
		return nil, errors.New("engine: the tokenizer has no end-of-turn token")
	}
	seen := map[string]int{} // token ids, as text -> option index
	out := make([][]int, len(options))
	for i, o := range options {
		if strings.TrimSpace(o) == "" {
			return nil, badRequest("option %d is empty", i+1)
		}
		ids := e.Tokenizer.EncodePlain(o)
		key := fmt.Sprint(ids)
		if j, dup := seen[key]; dup {
			if options[j] == o {
				return nil, badRequest("option %q appears twice", o)
			}
			return nil, badRequest("options %q and %q are the same text once normalized", options[j], o)
		}
		seen[key] = i
		out[i] = append(ids[:len(ids):len(ids)], eot...)
	}
	return out, nil
}

// Score evaluates the prompt once and scores every option from its KV
// cache.
func (e *Engine) Score(ctx context.Context, req *Request) (*Result, error) {
	prompt, err := e.PromptIDs(req)
	if err != nil {
		return nil, err
	}
	opts, err := e.OptionIDs(req.Options)
	if err != nil {
		return nil, err
	}
	return e.ScoreIDs(ctx, req, prompt, opts)
}

// ScoreIDs is Score for a request already tokenized: prompt from
// PromptIDs(req) and opts from OptionIDs(req.Options), for callers that
// check the token counts first.
func (e *Engine) ScoreIDs(ctx context.Context, req *Request, prompt []int, opts [][]int) (*Result, error) {
	if len(opts) != len(req.Options) {
		return nil, fmt.Errorf("engine: %d tokenized options for %d options", len(opts), len(req.Options))
	}
	longest := 0
	for _, o := range opts {
		longest = max(longest, len(o))
	}
	if len(prompt)+longest-1 > e.ctxLen {
		return nil, badRequest("prompt of %d tokens plus an option of %d exceeds the context of %d", len(prompt), longest, e.ctxLen)
	}
	s, err := e.acquire(ctx, prompt)
	if err != nil {
		return nil, err
	}
	defer e.release(s)
	first := make([]float32, e.Config.Vocab)
	if err := s.prefill(ctx, prompt, first); err != nil {
		return nil, err
	}
	var ranking []Ranked
	switch req.Mode {
	case "", ModeFull:
		ranking, err = e.scoreFull(ctx, s, len(prompt), first, opts, req)
	case ModeGreedy:
		ranking, err = e.scoreGreedy(ctx, s, len(prompt), first, opts, req)
	default:
		return nil, badRequest("unknown mode %q (want full or greedy)", req.Mode)
	}
	// Leave the cache holding the prompt only, for the next request.
	s.Truncate(len(prompt))
	if err != nil {
		return nil, err
	}
	return finish(ranking, len(prompt), req.Mode != ModeGreedy)
}

// maxBranchRows bounds the option tokens run in one ForwardBranches call,
// and so the logits buffers a request holds ([maxBranchRows, vocab]).
// Benchmarks set it to 1 to score the options one after the other.
var maxBranchRows = 64

// scoreFull runs the options as branches after the prompt, as many at once
// as fit, and sums each option's tokens' log-probabilities. The last token
// of an option (its end-of-turn) is scored but never fed.
func (e *Engine) scoreFull(ctx context.Context, s *Seq, plen int, first []float32, opts [][]int, req *Request) ([]Ranked, error) {
	vocab := e.Config.Vocab
	lse0 := logSumExp(first) // the first token's normalizer, shared by every option
	budget := min(maxBranchRows, s.Cap()-plen)
	ranking := make([]Ranked, len(opts))
	for i := 0; i < len(opts); {
		// A group of options whose fed tokens fit the budget; a single
		// option always fits (Score checked the context).
		var group [][]int
		rows := 0
		j := i
		for ; j < len(opts); j++ {
			feed := opts[j][:len(opts[j])-1]
			if len(group) > 0 && rows+len(feed) > budget {
				break
			}
			group = append(group, feed)
			rows += len(feed)
		}
		if len(group) == 1 && rows > maxBranchRows {
			// One long option: run it causally, a bounded piece at a time.
			r, err := e.scoreLong(ctx, s, plen, float64(first[opts[i][0]])-lse0, opts[i], req.TokenLogProbs)
			if err != nil {
				return nil, err
			}
			r.Option = req.Options[i]
			ranking[i] = r
			i = j
			continue
		}
		bufs := s.scratchLogits(rows, vocab)
		s.Truncate(plen)
		if err := s.ForwardBranches(ctx, group, bufs); err != nil {
			return nil, err
		}
		row := 0
		for k := i; k < j; k++ {
			ids := opts[k]
			tok := []float64{float64(first[ids[0]]) - lse0}
			for t := 1; t < len(ids); t++ {
				tok = append(tok, logProbOf(bufs[row], ids[t]))
				row++
			}
			ranking[k] = ranked(req.Options[k], tok, req.TokenLogProbs)
		}
		i = j
	}
	return ranking, nil
}

// scoreLong scores one option of more than maxBranchRows tokens by feeding
// it after the prompt in pieces, so that the logits held stay bounded.
// lp0 is the log-probability of the option's first token.
func (e *Engine) scoreLong(ctx context.Context, s *Seq, plen int, lp0 float64, ids []int, perToken bool) (Ranked, error) {
	tok := []float64{lp0}
	feed := ids[:len(ids)-1]
	s.Truncate(plen)
	for off := 0; off < len(feed); off += maxBranchRows {
		part := feed[off:min(off+maxBranchRows, len(feed))]
		bufs := s.scratchLogits(len(part), e.Config.Vocab)
		rows := make([]int, len(part))
		for k := range rows {
			rows[k] = k
		}
		if err := s.Forward(ctx, part, rows, bufs); err != nil {
			return Ranked{}, err
		}
		for k := range part {
			tok = append(tok, logProbOf(bufs[k], ids[off+k+1]))
		}
	}
	s.Truncate(plen)
	return ranked("", tok, perToken), nil
}

// ranked sums an option's token log-probabilities.
func ranked(option string, tok []float64, perToken bool) Ranked {
	r := Ranked{Option: option, Tokens: len(tok)}
	for _, v := range tok {
		r.LogProb += v
	}
	if perToken {
		r.TokenLogProbs = tok
	}
	return r
}

// trieNode is a node of the options' token trie.
type trieNode struct {
	children map[int]*trieNode
	order    []int // child tokens in insertion order
	options  []int // options whose paths pass through or end here
	leaf     int   // option ending here, or -1
}

func buildTrie(opts [][]int) *trieNode {
	root := &trieNode{children: map[int]*trieNode{}, leaf: -1}
	for i, ids := range opts {
		n := root
		n.options = append(n.options, i)
		for _, id := range ids {
			c, ok := n.children[id]
			if !ok {
				c = &trieNode{children: map[int]*trieNode{}, leaf: -1}
				n.children[id] = c
				n.order = append(n.order, id)
			}
			c.options = append(c.options, i)
			n = c
		}
		n.leaf = i
	}
	return root
}

// scoreGreedy descends the trie, choosing the allowed token with the
// highest logit at each step. An option's probability is the product of its
// tokens' probabilities renormalised over the allowed tokens at each node on
// the greedy path; the mass of a branch that leaves the path is shared
// equally by the options in it. LogProb sums the tokens' log-probabilities
// that were evaluated: the whole option on the path, up to the branch point
// off it.
func (e *Engine) scoreGreedy(ctx context.Context, s *Seq, plen int, first []float32, opts [][]int, req *Request) ([]Ranked, error) {
	ranking := make([]Ranked, len(opts))
	for i := range opts {
		ranking[i] = Ranked{Option: req.Options[i], Probability: 1}
	}
	logits := first
	buf := [][]float32{make([]float32, e.Config.Vocab)}
	node := buildTrie(opts)
	s.Truncate(plen)
	for {
		lse := logSumExp(logits)
		best, bestLP := -1, math.Inf(-1)
		allowed := math.Inf(-1) // log of the mass of the allowed tokens
		for _, tok := range node.order {
			allowed = logAdd(allowed, float64(logits[tok])-lse)
		}
		for _, tok := range node.order {
			v := float64(logits[tok]) - lse
			child := node.children[tok]
			cond := math.Exp(v - allowed) // renormalised over the allowed tokens
			for _, o := range child.options {
				ranking[o].LogProb += v
				ranking[o].Probability *= cond
				ranking[o].Tokens++
				if req.TokenLogProbs {
					ranking[o].TokenLogProbs = append(ranking[o].TokenLogProbs, v)
				}
			}
			if best < 0 || v > bestLP {
				best, bestLP = tok, v
			}
		}
		// Options off the greedy path keep an equal share of their branch.
		for _, tok := range node.order {
			if tok != best {
				c := node.children[tok]
				for _, o := range c.options {
					ranking[o].Probability /= float64(len(c.options))
				}
			}
		}
		node = node.children[best]
		if len(node.children) == 0 {
			break
		}
		if err := s.Forward(ctx, []int{best}, []int{0}, buf); err != nil {
			return nil, err
		}
		logits = buf[0]
	}
	return ranking, nil
}

// finish turns the options' sums into probabilities and ranks them. The
// ranking is stable: equal scores keep the request's order.
func finish(r []Ranked, promptTokens int, softmax bool) (*Result, error) {
	for _, x := range r {
		if math.IsNaN(x.LogProb) || math.IsInf(x.LogProb, 0) {
			return nil, ErrNonFinite
		}
	}
	if softmax {
		m := math.Inf(-1)
		for _, x := range r {
			m = math.Max(m, x.LogProb)
		}
		var z float64
		for i := range r {
			r[i].Probability = math.Exp(r[i].LogProb - m)
			z += r[i].Probability
		}
		for i := range r {
			r[i].Probability /= z
		}
	}
	for i := range r {
		r[i].LogProb = Finite(r[i].LogProb)
		r[i].Probability = Finite(r[i].Probability)
		for j, v := range r[i].TokenLogProbs {
			r[i].TokenLogProbs[j] = Finite(v)
		}
	}
	sort.SliceStable(r, func(i, j int) bool {
		if r[i].Probability != r[j].Probability {
			return r[i].Probability > r[j].Probability
		}
		return r[i].LogProb > r[j].LogProb
	})
	return &Result{Answer: r[0].Option, Ranking: r, PromptTokens: promptTokens}, nil
}

// Finite keeps NaN and infinities out of JSON: -Inf becomes the lowest
// float64, +Inf the highest, NaN 0.
func Finite(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	case math.IsInf(v, 1):
		return math.MaxFloat64
	}
	return v
}

// logAdd returns log(exp(a) + exp(b)).
func logAdd(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	m := math.Max(a, b)
	return m + math.Log(math.Exp(a-m)+math.Exp(b-m))
}

// logSoftmax returns log_softmax(x) in float64.
func logSoftmax(x []float32) []float64 {
	out := make([]float64, len(x))
	lse := logSumExp(x)
	for i, v := range x {
		out[i] = float64(v) - lse
	}
	return out
}

func logSumExp(x []float32) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - m)
	}
	return m + math.Log(sum)
}

// logProbOf is log_softmax(x)[id].
func logProbOf(x []float32, id int) float64 {
	return float64(x[id]) - logSumExp(x)
}

// LogSoftmax returns log_softmax(logits) computed in float64.
func LogSoftmax(logits []float32) []float64 { return logSoftmax(logits) }
