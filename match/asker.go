package match

import "context"

// Asker asks a matching model one of the four questions and returns its
// constrained answer. The server's engine implements it; Bench and Reassign
// use it. Implementations must be safe for the calls Bench makes, which are
// sequential.
type Asker interface {
	// Match asks whether profile p matches task t (answers MatchOptions).
	Match(ctx context.Context, lang string, p Profile, t Task) (Answer, error)
	// PairUsers asks which of users a and b suits task t better ("A"/"B").
	PairUsers(ctx context.Context, lang string, t Task, a, b Profile) (Answer, error)
	// PairTasks asks which of tasks a and b suits user p better ("A"/"B").
	PairTasks(ctx context.Context, lang string, p Profile, a, b Task) (Answer, error)
	// Choose asks which of tasks suits user p best (answers: task names).
	Choose(ctx context.Context, lang string, p Profile, tasks []Task) (Answer, error)
}

// Answer is a model's constrained answer: the best option and every allowed
// option ranked, best first.
type Answer struct {
	Answer  string   `json:"answer"`
	Ranking []Ranked `json:"ranking"`
}

// Ranked is one option of an Answer: its probability (softmax over the
// options' summed log-probabilities), summed log-probability and token count.
type Ranked struct {
	Option      string  `json:"option"`
	Probability float64 `json:"probability"`
	LogProb     float64 `json:"logprob"`
	Tokens      int     `json:"tokens"`
}
