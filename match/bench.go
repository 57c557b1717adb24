package match

import (
	"context"
	"fmt"
)

// Ask asks a model the entry's question through the Asker method of its kind
// (the code paths of /v1/match, /v1/pair and /v1/choose), looking tasks up in
// cat.
func (e *Entry) Ask(ctx context.Context, a Asker, cat TaskCatalogue) (Answer, error) {
	switch e.Kind {
	case SetMatch:
		if e.Profile == nil {
			return Answer{}, fmt.Errorf("match: entry %s: no profile", e.ID)
		}
		return a.Match(ctx, e.Lang, *e.Profile, cat.Get(e.Task))
	case SetTPair:
		if len(e.CandidateProfiles) != 2 {
			return Answer{}, fmt.Errorf("match: entry %s: want 2 candidate profiles", e.ID)
		}
		return a.PairUsers(ctx, e.Lang, cat.Get(e.Task), e.CandidateProfiles[0], e.CandidateProfiles[1])
	case SetUPair:
		if e.Profile == nil || len(e.Candidates) != 2 {
			return Answer{}, fmt.Errorf("match: entry %s: want a profile and 2 candidates", e.ID)
		}
		return a.PairTasks(ctx, e.Lang, *e.Profile, cat.Get(e.Candidates[0]), cat.Get(e.Candidates[1]))
	case SetUMulti:
		if e.Profile == nil {
			return Answer{}, fmt.Errorf("match: entry %s: no profile", e.ID)
		}
		return a.Choose(ctx, e.Lang, *e.Profile, e.tasks(cat))
	}
	return Answer{}, fmt.Errorf("match: entry %s: unknown kind %q", e.ID, e.Kind)
}

// BenchPrediction is a model's prediction for one entry, as bench writes it:
// the answer, the full ranking, and the error text when asking failed.
type BenchPrediction struct {
	ID      string   `json:"id"`
	Answer  string   `json:"answer"`
	Ranking []Ranked `json:"ranking,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// AskAll asks a model every entry in order. An entry whose question fails
// gets an empty answer (scored as invalid) and the error text; a cancelled
// ctx stops the run with its error. progress, when not nil, is called after
// each entry with the number done.
func AskAll(ctx context.Context, a Asker, entries []Entry, cat TaskCatalogue,
	progress func(done int)) ([]BenchPrediction, error) {
	out := make([]BenchPrediction, 0, len(entries))
	for i := range entries {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("match: bench stopped after %d entries: %v", i, err)
		}
		ans, err := entries[i].Ask(ctx, a, cat)
		p := BenchPrediction{ID: entries[i].ID, Answer: ans.Answer, Ranking: ans.Ranking}
		if err != nil {
			if ctx.Err() != nil {
				return out, fmt.Errorf("match: bench stopped after %d entries: %v", i, ctx.Err())
			}
			p = BenchPrediction{ID: entries[i].ID, Error: trimPrefix(err)}
		}
		out = append(out, p)
		if progress != nil {
			progress(i + 1)
		}
	}
	return out, nil
}
