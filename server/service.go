package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/taskmatch/taskmatch/engine"
	"github.com/taskmatch/taskmatch/match"
	"github.com/taskmatch/taskmatch/tokenizer"
	"golang.org/x/text/unicode/norm"
)

// Default limits.
const (
	DefaultMaxBody    = 1 << 20 // bytes of a request body
	DefaultMaxOptions = 256     // options of /v1/score, tasks of /v1/choose

	// DefaultMaxOptionTokens bounds the tokens of all of a request's
	// options together: scoring costs about one forward position per
	// option token.
	DefaultMaxOptionTokens = 8192
)

// Limits bound what one request may ask. Zero fields take the defaults.
type Limits struct {
	// MaxBody is the largest request body in bytes (413 above it);
	// 0 means DefaultMaxBody.
	MaxBody int64
	// MaxOptions is the largest number of options (or tasks of /v1/choose);
	// 0 means DefaultMaxOptions.
	MaxOptions int
	// MaxPromptTokens is the longest prompt in tokens; 0 means, and larger
	// values are cut to, the engine's context.
	MaxPromptTokens int
	// MaxOptionTokens is the most tokens of all options (or task names)
	// together, each option counted with its end-of-turn token, checked
	// before the model runs; 0 means DefaultMaxOptionTokens.
	MaxOptionTokens int
}

// Service answers matching questions and scoring requests with a loaded
// engine. It implements match.Asker and is safe for concurrent use.
type Service struct {
	engine    *engine.Engine
	templates *match.Templates
	limits    Limits
}

var _ match.Asker = (*Service)(nil)

// NewService returns a Service that scores with e and renders prompts with
// t (nil means match.DefaultTemplates). The Service does not own e: close
// e after the last request.
func NewService(e *engine.Engine, t *match.Templates, lim Limits) *Service {
	if t == nil {
		t = match.DefaultTemplates()
	}
	if lim.MaxBody <= 0 {
		lim.MaxBody = DefaultMaxBody
	}
	if lim.MaxOptions <= 0 {
		lim.MaxOptions = DefaultMaxOptions
	}
	if lim.MaxOptionTokens <= 0 {
		lim.MaxOptionTokens = DefaultMaxOptionTokens
	}
	if lim.MaxPromptTokens <= 0 || lim.MaxPromptTokens > e.ContextLen() {
		lim.MaxPromptTokens = e.ContextLen()
	}
	return &Service{engine: e, templates: t, limits: lim}
}

// Engine returns the engine the Service scores with.
func (s *Service) Engine() *engine.Engine { return s.engine }

// Limits returns the limits in force, defaults filled in.
func (s *Service) Limits() Limits { return s.limits }

// Match asks whether profile p matches task t. The answers are
// match.MatchOptions(lang): "Yes"/"No", or "是"/"否" in Chinese.
func (s *Service) Match(ctx context.Context, lang string, p match.Profile,
	t match.Task) (match.Answer, error) {
	return answer(s.runMatch(ctx, &MatchRequest{Profile: &p, Task: &t, Lang: lang}))
}

// PairUsers asks which of users a and b suits task t better ("A" or "B").
func (s *Service) PairUsers(ctx context.Context, lang string, t match.Task,
	a, b match.Profile) (match.Answer, error) {
	req, err := s.pairUsers(lang, t, a, b)
	if err != nil {
		return match.Answer{}, err
	}
	return answer(drop(s.score(ctx, req)))
}

// PairTasks asks which of tasks a and b suits user p better ("A" or "B").
func (s *Service) PairTasks(ctx context.Context, lang string, p match.Profile,
	a, b match.Task) (match.Answer, error) {
	req, err := s.pairTasks(lang, p, a, b)
	if err != nil {
		return match.Answer{}, err
	}
	return answer(drop(s.score(ctx, req)))
}

// Choose asks which of tasks suits user p best; the answers are the task
// names. An empty list, a task without a name, a duplicated name and more
// tasks than Limits.MaxOptions are errors.
func (s *Service) Choose(ctx context.Context, lang string, p match.Profile,
	tasks []match.Task) (match.Answer, error) {
	return answer(s.runChoose(ctx, &ChooseRequest{Profile: &p, Tasks: tasks, Lang: lang}))
}

// Score ranks req.Options after req's prompt within the Service's limits.
// Errors are *Error values (see AsError).
func (s *Service) Score(ctx context.Context, req *engine.Request) (*engine.Result, error) {
	return drop(s.score(ctx, req))
}

// Do runs one request body of the given kind (KindMatch, KindPair,
// KindChoose or KindScore), decoded strictly as the HTTP endpoint decodes
// it. Errors are *Error values.
func (s *Service) Do(ctx context.Context, kind string, body []byte) (*engine.Result, error) {
	return drop(s.do(ctx, kind, body))
}

// DoLine runs one line of "taskmatch score" input: a request body with an
// extra "kind" field naming its kind. Errors are *Error values.
func (s *Service) DoLine(ctx context.Context, line []byte) (*engine.Result, error) {
	kind, body, err := s.splitKind(line)
	if err != nil {
		return nil, err
	}
	return s.Do(ctx, kind, body)
}

// splitKind takes the "kind" field out of a JSONL line.
func (s *Service) splitKind(line []byte) (string, []byte, error) {
	if int64(len(line)) > s.limits.MaxBody {
		return "", nil, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			fmt.Sprintf("the line is larger than %d bytes", s.limits.MaxBody))
	}
	var fields map[string]json.RawMessage
	if err := decodeStrict(line, &fields); err != nil {
		return "", nil, err
	}
	if fields == nil {
		return "", nil, errorf(http.StatusBadRequest, CodeBadJSON, "bad JSON: want an object")
	}
	raw, ok := fields["kind"]
	if !ok {
		return "", nil, missing("kind")
	}
	var kind string
	if err := json.Unmarshal(raw, &kind); err != nil {
		return "", nil, badRequest(`"kind" must be a string`)
	}
	delete(fields, "kind")
	body, err := json.Marshal(fields)
	if err != nil {
		return "", nil, AsError(err)
	}
	return kind, body, nil
}

// Prepare decodes a request body of the given kind and turns it into the
// engine request it asks for: the prompt rendered, its options chosen and
// the options limit checked. It does not run the model. Errors are *Error
// values.
func (s *Service) Prepare(kind string, body []byte) (*engine.Request, error) {
	if int64(len(body)) > s.limits.MaxBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			fmt.Sprintf("the body is larger than %d bytes", s.limits.MaxBody))
	}
	switch kind {
	case KindMatch:
		var r MatchRequest
		if err := decodeStrict(body, &r); err != nil {
			return nil, err
		}
		return s.match(&r)
	case KindPair:
		var r PairRequest
		if err := decodeStrict(body, &r); err != nil {
			return nil, err
		}
		return s.pair(&r)
	case KindChoose:
		var r ChooseRequest
		if err := decodeStrict(body, &r); err != nil {
			return nil, err
		}
		return s.choose(&r)
	case KindScore:
		var r ScoreRequest
		if err := decodeStrict(body, &r); err != nil {
			return nil, err
		}
		return s.scoreRequest(&r)
	}
	return nil, badRequest(fmt.Sprintf("unknown kind %q (want %s)", kind, strings.Join(Kinds, ", ")))
}

func (s *Service) runMatch(ctx context.Context, r *MatchRequest) (*engine.Result, error) {
	req, err := s.match(r)
	if err != nil {
		return nil, err
	}
	return drop(s.score(ctx, req))
}

func (s *Service) runChoose(ctx context.Context, r *ChooseRequest) (*engine.Result, error) {
	req, err := s.choose(r)
	if err != nil {
		return nil, err
	}
	return drop(s.score(ctx, req))
}

// checkLang returns the canonical language or a 400.
func checkLang(lang string) (string, error) {
	l, err := match.CheckLang(lang)
	if err != nil {
		return "", badRequest(trimMatch(err))
	}
	return l, nil
}

// trimMatch drops the "match: " prefix of package match's errors.
func trimMatch(err error) string { return strings.TrimPrefix(err.Error(), "match: ") }

func checkProfile(name string, p *match.Profile) error {
	if p == nil {
		return missing(name)
	}
	if err := p.Validate(); err != nil {
		return badRequest(fmt.Sprintf("%s: %s", name, trimMatch(err)))
	}
	return nil
}

func checkTask(name string, t *match.Task) error {
	if t == nil {
		return missing(name)
	}
	if err := t.Validate(); err != nil {
		return badRequest(fmt.Sprintf("%s: %s", name, trimMatch(err)))
	}
	return nil
}

func (s *Service) match(r *MatchRequest) (*engine.Request, error) {
	lang, err := checkLang(r.Lang)
	if err != nil {
		return nil, err
	}
	if err := checkProfile("profile", r.Profile); err != nil {
		return nil, err
	}
	if err := checkTask("task", r.Task); err != nil {
		return nil, err
	}
	prompt, err := s.templates.Match(lang, *r.Profile, *r.Task)
	return userRequest(prompt, match.MatchOptions(lang), err)
}

// pair decides the form of a pair request by which of "task" and "profile"
// it has: exactly one must be present.
func (s *Service) pair(r *PairRequest) (*engine.Request, error) {
	switch {
	case r.Task != nil && r.Profile != nil:
		return nil, badRequest(`ambiguous pair request: give "task" (to compare users a and b) or "profile" (to compare tasks a and b), not both`)
	case r.Task == nil && r.Profile == nil:
		return nil, badRequest(`pair request needs "task" (to compare users a and b) or "profile" (to compare tasks a and b)`)
	}
	if isAbsent(r.A) {
		return nil, missing("a")
	}
	if isAbsent(r.B) {
		return nil, missing("b")
	}
	if r.Task != nil {
		var a, b match.Profile
		if err := decodeField("a", r.A, &a); err != nil {
			return nil, err
		}
		if err := decodeField("b", r.B, &b); err != nil {
			return nil, err
		}
		return s.pairUsers(r.Lang, *r.Task, a, b)
	}
	var a, b match.Task
	if err := decodeField("a", r.A, &a); err != nil {
		return nil, err
	}
	if err := decodeField("b", r.B, &b); err != nil {
		return nil, err
	}
	return s.pairTasks(r.Lang, *r.Profile, a, b)
}

func decodeField(name string, raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, CodeBadJSON, fmt.Sprintf("bad JSON in %q: %s", name, describeJSONError(err)))
	}
	return checkKeys(raw, v, name)
}

func (s *Service) pairUsers(lang string, t match.Task, a, b match.Profile) (*engine.Request, error) {
	lang, err := checkLang(lang)
	if err != nil {
		return nil, err
	}
	if err := checkTask("task", &t); err != nil {
		return nil, err
	}
	if err := checkProfile("a", &a); err != nil {
		return nil, err
	}
	if err := checkProfile("b", &b); err != nil {
		return nil, err
	}
	if a == b {
		return nil, badRequest("a and b are the same profile: nothing to choose between")
	}
	prompt, err := s.templates.PairUsers(lang, t, a, b)
	return userRequest(prompt, match.PairOptions(lang), err)
}

func (s *Service) pairTasks(lang string, p match.Profile, a, b match.Task) (*engine.Request, error) {
	lang, err := checkLang(lang)
	if err != nil {
		return nil, err
	}
	if err := checkProfile("profile", &p); err != nil {
		return nil, err
	}
	if err := checkTask("a", &a); err != nil {
		return nil, err
	}
	if err := checkTask("b", &b); err != nil {
		return nil, err
	}
	if a == b {
		return nil, badRequest("a and b are the same task: nothing to choose between")
	}
	prompt, err := s.templates.PairTasks(lang, p, a, b)
	return userRequest(prompt, match.PairOptions(lang), err)
}

func (s *Service) choose(r *ChooseRequest) (*engine.Request, error) {
	lang, err := checkLang(r.Lang)
	if err != nil {
		return nil, err
	}
	if err := checkProfile("profile", r.Profile); err != nil {
		return nil, err
	}
	if len(r.Tasks) > s.limits.MaxOptions {
		return nil, tooManyOptions(len(r.Tasks), s.limits.MaxOptions)
	}
	options, err := match.ChooseOptions(r.Tasks)
	if err != nil {
		return nil, badRequest("tasks: " + trimMatch(err))
	}
	if err := sameNames(options); err != nil {
		return nil, err
	}
	prompt, err := s.templates.Choose(lang, *r.Profile, r.Tasks)
	return userRequest(prompt, options, err)
}

// sameNames rejects task names that differ only by surrounding white space
// or Unicode normalization ("x" and "x ", "é" and "e\u0301"): the model
// could not tell such answers apart.
func sameNames(names []string) error {
	seen := make(map[string]int, len(names))
	for i, n := range names {
		key := norm.NFC.String(strings.TrimSpace(n))
		if j, dup := seen[key]; dup {
			return badRequest(fmt.Sprintf("tasks: task names %q and %q are the same once trimmed and normalized",
				names[j], n))
		}
		seen[key] = i
	}
	return nil
}

func (s *Service) scoreRequest(r *ScoreRequest) (*engine.Request, error) {
	switch {
	case len(r.Messages) > 0 && r.Prompt != "":
		return nil, badRequest(`give "messages" or "prompt", not both`)
	case len(r.Messages) == 0 && r.Prompt == "":
		return nil, badRequest(`missing "messages" or "prompt"`)
	case len(r.Options) == 0:
		return nil, missing("options")
	}
	mode := engine.Mode(r.Mode)
	switch mode {
	case "", engine.ModeFull, engine.ModeGreedy:
	default:
		return nil, badRequest(fmt.Sprintf("unknown mode %q (want full or greedy)", r.Mode))
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return nil, badRequest(fmt.Sprintf("message %d: unknown role %q (want system, user or assistant)", i, m.Role))
		}
	}
	return &engine.Request{Messages: r.Messages, Prompt: r.Prompt, Options: r.Options,
		Mode: mode, TokenLogProbs: r.TokenLogProbs}, nil
}

// userRequest makes the engine request for a rendered matching prompt. The
// inputs were checked before rendering, so a template error here is the
// server's (a templates file that fails on this data): 500.
func userRequest(prompt string, options []string, err error) (*engine.Request, error) {
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, CodeInternal, err.Error())
	}
	return &engine.Request{
		Messages: []tokenizer.Message{{Role: "user", Content: prompt}},
		Options:  options,
	}, nil
}

func tooManyOptions(n, limit int) *Error {
	return errorf(http.StatusBadRequest, CodeTooManyOptions,
		fmt.Sprintf("%d options, more than the limit of %d", n, limit))
}

// score checks req against the limits and runs it. It also returns the
// number of prompt tokens once the prompt is tokenized, for the request log.
func (s *Service) score(ctx context.Context, req *engine.Request) (*engine.Result, int, error) {
	if len(req.Options) > s.limits.MaxOptions {
		return nil, 0, tooManyOptions(len(req.Options), s.limits.MaxOptions)
	}
	ids, err := s.engine.PromptIDs(req)
	if err != nil {
		return nil, 0, AsError(err)
	}
	if len(ids) > s.limits.MaxPromptTokens {
		return nil, len(ids), errorf(http.StatusBadRequest, CodePromptTooLong,
			fmt.Sprintf("the prompt has %d tokens, more than the limit of %d", len(ids), s.limits.MaxPromptTokens))
	}
	opts, err := s.engine.OptionIDs(req.Options)
	if err != nil {
		return nil, len(ids), AsError(err)
	}
	n := 0
	for _, o := range opts {
		n += len(o)
	}
	if n > s.limits.MaxOptionTokens {
		return nil, len(ids), errorf(http.StatusBadRequest, CodeTooManyTokens,
			fmt.Sprintf("the options have %d tokens together, more than the limit of %d",
				n, s.limits.MaxOptionTokens))
	}
	res, err := s.engine.ScoreIDs(ctx, req, ids, opts)
	if err != nil {
		return nil, len(ids), AsError(err)
	}
	return res, len(ids), nil
}

// do runs a request body of the given kind; see Do.
func (s *Service) do(ctx context.Context, kind string, body []byte) (*engine.Result, int, error) {
	req, err := s.Prepare(kind, body)
	if err != nil {
		return nil, 0, err
	}
	return s.score(ctx, req)
}

func drop(res *engine.Result, _ int, err error) (*engine.Result, error) { return res, err }

// answer converts an engine result into a match.Answer.
func answer(res *engine.Result, err error) (match.Answer, error) {
	if err != nil {
		return match.Answer{}, err
	}
	a := match.Answer{Answer: res.Answer, Ranking: make([]match.Ranked, len(res.Ranking))}
	for i, r := range res.Ranking {
		a.Ranking[i] = match.Ranked{Option: r.Option, Probability: r.Probability,
			LogProb: r.LogProb, Tokens: r.Tokens}
	}
	return a, nil
}
