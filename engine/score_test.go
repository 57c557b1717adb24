package engine

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/model"
	"github.com/taskmatch/taskmatch/tokenizer"
)

var (
	demoOnce sync.Once
	demo     *Engine
	demoErr  error
)

// demoEngine is the built-in demo model, loaded once for the package's tests.
func demoEngine(t *testing.T) *Engine {
	t.Helper()
	demoOnce.Do(func() { demo, demoErr = Load(Options{Slots: 2, Context: 512}) })
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demo
}

// directLogProb scores option ids after prompt from an empty cache, one
// position at a time: the reference for Score.
func directLogProb(t *testing.T, e *Engine, prompt, option []int) float64 {
	t.Helper()
	seq := append(append([]int(nil), prompt...), option...)
	s, err := e.net.NewSeq(len(seq), 1)
	if err != nil {
		t.Fatal(err)
	}
	out := [][]float32{make([]float32, e.Config.Vocab)}
	sum := 0.0
	for i, id := range seq[:len(seq)-1] {
		if err := s.Forward(context.Background(), []int{id}, []int{0}, out); err != nil {
			t.Fatal(err)
		}
		if i >= len(prompt)-1 {
			sum += logProbOf(out[0], seq[i+1])
		}
	}
	return sum
}

func TestScoreMatchesDirect(t *testing.T) {
	e := demoEngine(t)
	req := &Request{
		Messages:      []tokenizer.Message{{Role: "user", Content: "Does a Ph.D. in Literature fit a poetry task?"}},
		Options:       []string{"Yes", "No", "Y", "Yes!"},
		TokenLogProbs: true,
	}
	res, err := e.Score(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	prompt, _ := e.PromptIDs(req)
	opts, _ := e.OptionIDs(req.Options)
	if res.PromptTokens != len(prompt) {
		t.Errorf("prompt tokens %d, want %d", res.PromptTokens, len(prompt))
	}
	psum := 0.0
	for _, r := range res.Ranking {
		psum += r.Probability
		idx := -1
		for i, o := range req.Options {
			if o == r.Option {
				idx = i
			}
		}
		want := directLogProb(t, e, prompt, opts[idx])
		if math.Abs(r.LogProb-want) > 1e-4 {
			t.Errorf("%q: logprob %.6f, direct %.6f", r.Option, r.LogProb, want)
		}
		if r.Tokens != len(opts[idx]) || len(r.TokenLogProbs) != r.Tokens {
			t.Errorf("%q: %d tokens, %d token logprobs, want %d", r.Option, r.Tokens, len(r.TokenLogProbs), len(opts[idx]))
		}
	}
	if math.Abs(psum-1) > 1e-9 {
		t.Errorf("probabilities sum to %v", psum)
	}
	for i := 1; i < len(res.Ranking); i++ {
		if res.Ranking[i].Probability > res.Ranking[i-1].Probability {
			t.Error("ranking not sorted")
		}
	}
	if res.Answer != res.Ranking[0].Option {
		t.Errorf("answer %q, best %q", res.Answer, res.Ranking[0].Option)
	}
}

func TestScorePrefixOptions(t *testing.T) {
	e := demoEngine(t)
	// "a" is a prefix of "ab": the end-of-turn token tells them apart.
	res, err := e.Score(context.Background(), &Request{Prompt: "Pick one:", Options: []string{"a", "ab"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ranking[0].LogProb == res.Ranking[1].LogProb {
		t.Error("a and ab score the same")
	}
}

func TestScoreRepeatable(t *testing.T) {
	e := demoEngine(t)
	req := &Request{Messages: []tokenizer.Message{{Role: "user", Content: "hello"}}, Options: []string{"A", "B"}}
	first, err := e.Score(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Another prompt in between, then the same request: served from the
	// prefix cache, the numbers must not change.
	if _, err := e.Score(context.Background(), &Request{Prompt: "something else entirely", Options: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		again, err := e.Score(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for i := range first.Ranking {
			if again.Ranking[i].LogProb != first.Ranking[i].LogProb || again.Ranking[i].Option != first.Ranking[i].Option {
				t.Errorf("ranking %d: %+v then %+v", i, first.Ranking[i], again.Ranking[i])
			}
		}
	}
}

func TestScoreGreedy(t *testing.T) {
	e := demoEngine(t)
	opts := []string{"Sports and Health", "Sports and Music", "Medicine", "Literature"}
	full, err := e.Score(context.Background(), &Request{Prompt: "Choose:", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	greedy, err := e.Score(context.Background(), &Request{Prompt: "Choose:", Options: opts, Mode: ModeGreedy})
	if err != nil {
		t.Fatal(err)
	}
	psum := 0.0
	for _, r := range greedy.Ranking {
		psum += r.Probability
	}
	if math.Abs(psum-1) > 1e-9 {
		t.Errorf("greedy probabilities sum to %v", psum)
	}
	// The greedy answer's log-probability is exact: its whole path was run.
	var g, f Ranked
	for _, r := range greedy.Ranking {
		if r.Option == greedy.Answer {
			g = r
		}
	}
	for _, r := range full.Ranking {
		if r.Option == greedy.Answer {
			f = r
		}
	}
	if math.Abs(g.LogProb-f.LogProb) > 1e-4 || g.Tokens != f.Tokens {
		t.Errorf("greedy answer %q: logprob %v (%d tokens), full %v (%d tokens)", g.Option, g.LogProb, g.Tokens, f.LogProb, f.Tokens)
	}
}

func TestScoreBadRequests(t *testing.T) {
	e := demoEngine(t)
	for _, req := range []*Request{
		{Prompt: "x"},
		{Prompt: "x", Options: []string{"a", "a"}},
		{Prompt: "x", Options: []string{"a", " "}},
		{Options: []string{"a"}},
		{Prompt: "x", Options: []string{"a"}, Mode: "beam"},
	} {
		if _, err := e.Score(context.Background(), req); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
	long := make([]byte, 0, 4000)
	for range 1000 {
		long = append(long, " cat"...)
	}
	if _, err := e.Score(context.Background(), &Request{Prompt: string(long), Options: []string{"a"}}); err == nil {
		t.Error("prompt beyond the context accepted")
	}
}

func TestScoreCanceled(t *testing.T) {
	e := demoEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Score(ctx, &Request{Prompt: "x y z", Options: []string{"a"}}); err == nil {
		t.Error("canceled request succeeded")
	}
}

func TestChunkingIsExact(t *testing.T) {
	e := demoEngine(t)
	ids := e.Tokenizer.Encode("The quick brown fox jumps over the lazy dog, then runs into the forest to rest.")
	ref := chunked(t, e, ids, []int{len(ids)})
	for _, chunks := range [][]int{{1, len(ids) - 1}, {5, 5, len(ids) - 10}, ones(len(ids))} {
		got := chunked(t, e, ids, chunks)
		for i := range got {
			if got[i] != ref[i] {
				t.Fatalf("chunks %v: logit %d = %v, one chunk gives %v", chunks, i, got[i], ref[i])
			}
		}
	}
}

func ones(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

// TestBranchesEqualSequential checks that options run as branches in one
// batch give the bits of running each after the prompt on its own.
func TestBranchesEqualSequential(t *testing.T) {
	e := demoEngine(t)
	prompt := e.Tokenizer.Encode("Which task suits a nurse best? A: triage notes, B: poetry, C: code review")
	branches := [][]int{
		e.Tokenizer.EncodePlain("triage notes"),
		e.Tokenizer.EncodePlain("poetry"),
		e.Tokenizer.EncodePlain("code review, with a much longer tail of words"),
	}
	ctx := context.Background()
	s, err := e.net.NewSeq(256, 7) // a small batch forces several steps
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Forward(ctx, prompt, nil, nil); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range branches {
		total += len(b)
	}
	got := make([][]float32, total)
	for i := range got {
		got[i] = make([]float32, e.Config.Vocab)
	}
	if err := s.ForwardBranches(ctx, branches, got); err != nil {
		t.Fatal(err)
	}
	if s.Len() != len(prompt) {
		t.Fatalf("cache holds %d positions after the branches, want %d", s.Len(), len(prompt))
	}
	row := 0
	for bi, b := range branches {
		want := make([][]float32, len(b))
		rows := make([]int, len(b))
		for i := range want {
			want[i] = make([]float32, e.Config.Vocab)
			rows[i] = i
		}
		s.Truncate(len(prompt))
		if err := s.Forward(ctx, b, rows, want); err != nil {
			t.Fatal(err)
		}
		for i := range b {
			for v := range want[i] {
				if got[row][v] != want[i][v] {
					t.Fatalf("branch %d token %d: logit %d is %v in a batch, %v alone", bi, i, v, got[row][v], want[i][v])
				}
			}
			row++
		}
	}
}

// TestScoreLongOption scores an option longer than one batch of branch
// rows.
func TestScoreLongOption(t *testing.T) {
	e := demoEngine(t)
	long := ""
	for range 90 {
		long += "very "
	}
	long += "long"
	req := &Request{Prompt: "Describe it:", Options: []string{"short", long}}
	res, err := e.Score(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	prompt, _ := e.PromptIDs(req)
	opts, _ := e.OptionIDs(req.Options)
	if len(opts[1]) <= maxBranchRows {
		t.Fatalf("the long option has only %d tokens", len(opts[1]))
	}
	for _, r := range res.Ranking {
		i := 0
		if r.Option == long {
			i = 1
		}
		if want := directLogProb(t, e, prompt, opts[i]); math.Abs(r.LogProb-want) > 1e-4 {
			t.Errorf("%.20q: logprob %v, direct %v", r.Option, r.LogProb, want)
		}
	}
}

func TestScoreNormalizedDuplicates(t *testing.T) {
	e := demoEngine(t)
	_, err := e.Score(context.Background(), &Request{Prompt: "x", Options: []string{"\u00e9", "e\u0301"}})
	if err == nil || !errors.Is(err, ErrBadRequest) {
		t.Errorf("é and e+U+0301 accepted as two options: %v", err)
	}
}

func TestFinishNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		r := []Ranked{{Option: "a", LogProb: v}, {Option: "b", LogProb: -1}}
		if _, err := finish(r, 3, true); !errors.Is(err, ErrNonFinite) {
			t.Errorf("logprob %v: error %v, want ErrNonFinite", v, err)
		}
	}
}

func TestLoadRefusesHugeContext(t *testing.T) {
	if _, err := Load(Options{Context: 1 << 30}); err == nil {
		t.Error("a context beyond max_position_embeddings was accepted")
	}
	if _, ok := memAvailable(); !ok {
		t.Skip("MemAvailable unknown")
	}
	// 2^25 positions of 1 KiB of keys and values each: 32 GiB, checked
	// before anything is allocated.
	dir := t.TempDir()
	spec := ckptgen.Spec{Arch: model.ArchQwen2, Hidden: 64, Intermediate: 32, Layers: 2, Heads: 4, KVHeads: 4,
		Vocab: 256, Tied: true, RopeTheta: 1e4, MaxPositions: 1 << 26}
	if err := spec.Write(dir); err != nil {
		t.Fatal(err)
	}
	_, err := Load(Options{Model: dir, Context: 1 << 25, TokenizerOptional: true})
	if err == nil || !strings.Contains(err.Error(), "available") {
		t.Errorf("a KV cache larger than memory: %v", err)
	}
}
