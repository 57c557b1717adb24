package match

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// TaskCatalogue maps task names to their full description. Tasks missing
// from it are rendered by name alone.
type TaskCatalogue map[string]Task

// Get returns the task named name, or a Task with only the name.
func (c TaskCatalogue) Get(name string) Task {
	if t, ok := c[name]; ok {
		t.Name = name
		return t
	}
	return Task{Name: name}
}

// ReadTaskCatalogue reads a JSON array of tasks (as simulate --tasks-out
// writes it; extra fields are ignored). A task without a name or a repeated
// name is an error.
func ReadTaskCatalogue(path string) (TaskCatalogue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("match: tasks: %v", err)
	}
	var tasks []Task
	if err := json.Unmarshal(data, &tasks); err != nil {
		return nil, fmt.Errorf("match: tasks %s: %v", path, err)
	}
	c := make(TaskCatalogue, len(tasks))
	for i, t := range tasks {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("match: tasks %s: task %d: %v", path, i+1, trimPrefix(err))
		}
		if _, dup := c[t.Name]; dup {
			return nil, fmt.Errorf("match: tasks %s: task %q twice", path, t.Name)
		}
		c[t.Name] = t
	}
	return c, nil
}

// Prompt renders the user message of an entry with the templates, looking
// its tasks up in cat.
func (e *Entry) Prompt(t *Templates, cat TaskCatalogue) (string, error) {
	lang := e.Lang
	switch e.Kind {
	case SetMatch:
		if e.Profile == nil {
			return "", fmt.Errorf("match: entry %s: no profile", e.ID)
		}
		return t.Match(lang, *e.Profile, cat.Get(e.Task))
	case SetTPair:
		if len(e.CandidateProfiles) != 2 {
			return "", fmt.Errorf("match: entry %s: want 2 candidate profiles", e.ID)
		}
		return t.PairUsers(lang, cat.Get(e.Task), e.CandidateProfiles[0], e.CandidateProfiles[1])
	case SetUPair:
		if e.Profile == nil || len(e.Candidates) != 2 {
			return "", fmt.Errorf("match: entry %s: want a profile and 2 candidates", e.ID)
		}
		return t.PairTasks(lang, *e.Profile, cat.Get(e.Candidates[0]), cat.Get(e.Candidates[1]))
	case SetUMulti:
		if e.Profile == nil {
			return "", fmt.Errorf("match: entry %s: no profile", e.ID)
		}
		return t.Choose(lang, *e.Profile, e.tasks(cat))
	}
	return "", fmt.Errorf("match: entry %s: unknown kind %q", e.ID, e.Kind)
}

func (e *Entry) tasks(cat TaskCatalogue) []Task {
	ts := make([]Task, len(e.Candidates))
	for i, n := range e.Candidates {
		ts[i] = cat.Get(n)
	}
	return ts
}

// DatasetSummary is one set's line of the dataset summary.json.
type DatasetSummary struct {
	Target   int `json:"target"`
	Possible int `json:"possible"`
	Entries  int `json:"entries"`
	Train    int `json:"train"`
	Test     int `json:"test"`
}

type alpacaRecord struct {
	Instruction string `json:"instruction"`
	Input       string `json:"input"`
	Output      string `json:"output"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// WriteDatasets writes the dataset files into dir (created if needed):
// <set>.train.jsonl and <set>.test.jsonl per set, test.jsonl (the test sets
// in order), train.alpaca.json (a JSON array of instruction / input / output
// records), train.messages.jsonl (one {"messages": [user, assistant]} per
// line) with the training entries rendered by t, and summary.json.
func WriteDatasets(dir string, sets []Dataset, seed int64, lang string, t *Templates,
	cat TaskCatalogue) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("match: %v", err)
	}
	var allTest []Entry
	var alpaca []alpacaRecord
	var messages bytes.Buffer
	summary := struct {
		Seed int64                     `json:"seed"`
		Lang string                    `json:"lang"`
		Sets map[string]DatasetSummary `json:"sets"`
	}{seed, lang, make(map[string]DatasetSummary)}
	for _, ds := range sets {
		if err := writeEntries(filepath.Join(dir, ds.Name+".train.jsonl"), ds.Train); err != nil {
			return err
		}
		if err := writeEntries(filepath.Join(dir, ds.Name+".test.jsonl"), ds.Test); err != nil {
			return err
		}
		allTest = append(allTest, ds.Test...)
		for i := range ds.Train {
			e := &ds.Train[i]
			prompt, err := e.Prompt(t, cat)
			if err != nil {
				return err
			}
			alpaca = append(alpaca, alpacaRecord{Instruction: prompt, Output: e.Label})
			line, err := json.Marshal(struct {
				ID       string        `json:"id"`
				Messages []chatMessage `json:"messages"`
			}{e.ID, []chatMessage{{"user", prompt}, {"assistant", e.Label}}})
			if err != nil {
				return fmt.Errorf("match: %v", err)
			}
			messages.Write(line)
			messages.WriteByte('\n')
		}
		summary.Sets[ds.Name] = DatasetSummary{Target: ds.Target, Possible: ds.Possible,
			Entries: len(ds.Entries), Train: len(ds.Train), Test: len(ds.Test)}
	}
	if err := writeEntries(filepath.Join(dir, "test.jsonl"), allTest); err != nil {
		return err
	}
	if alpaca == nil {
		alpaca = []alpacaRecord{}
	}
	if err := writeJSON(filepath.Join(dir, "train.alpaca.json"), alpaca); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "train.messages.jsonl"), messages.Bytes(), 0o644); err != nil {
		return fmt.Errorf("match: %v", err)
	}
	return writeJSON(filepath.Join(dir, "summary.json"), summary)
}

// WriteJSON writes v as indented JSON with a final newline.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("match: %v", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("match: %v", err)
	}
	return nil
}

// WriteJSONFile writes v to path as indented JSON with a final newline.
func WriteJSONFile(path string, v any) error { return writeJSON(path, v) }

func writeEntries(path string, es []Entry) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for i := range es {
		if err := enc.Encode(&es[i]); err != nil {
			return fmt.Errorf("match: %v", err)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("match: %v", err)
	}
	return nil
}

// ReadEntries reads dataset entries (JSONL, one per line; blank lines are
// skipped; unknown fields are ignored). Errors name the line: bad JSON, a
// missing id, a repeated id, an unknown kind, an entry whose fields do not
// fit its kind, a label outside its options.
func ReadEntries(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	var es []Entry
	seen := make(map[string]int)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("match: entries line %d: %v", line, err)
		}
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("match: entries line %d: %v", line, err)
		}
		if prev, dup := seen[e.ID]; dup {
			return nil, fmt.Errorf("match: entries line %d: id %q already on line %d", line, e.ID, prev)
		}
		seen[e.ID] = line
		es = append(es, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("match: entries: %v", err)
	}
	if len(es) == 0 {
		return nil, errors.New("match: entries: no entries")
	}
	return es, nil
}

// check validates an entry's fields against its kind.
func (e *Entry) check() error {
	if e.ID == "" {
		return errors.New("missing id")
	}
	if _, err := CheckLang(e.Lang); err != nil {
		return errors.New(trimPrefix(err))
	}
	switch e.Kind {
	case SetMatch:
		if e.Task == "" || e.Group == "" {
			return errors.New("match entry needs group and task")
		}
	case SetTPair:
		if e.Task == "" || len(e.Candidates) != 2 {
			return errors.New("t_pair entry needs task and 2 candidates")
		}
	case SetUPair, SetUMulti:
		if e.Group == "" || len(e.Candidates) < 2 || (e.Kind == SetUPair && len(e.Candidates) != 2) {
			return fmt.Errorf("%s entry needs group and its candidates", e.Kind)
		}
	default:
		return fmt.Errorf("unknown kind %q", e.Kind)
	}
	if len(e.Options) == 0 {
		return errors.New("no options")
	}
	if !slices.Contains(e.Options, e.Label) {
		return fmt.Errorf("label %q is not one of the options", e.Label)
	}
	return nil
}
