package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskmatch/taskmatch/match"
)

// gdbmFakeAsker answers every question with its first option.
type gdbmFakeAsker struct{ calls int }

func (f *gdbmFakeAsker) answer(opts []string) (match.Answer, error) {
	f.calls++
	a := match.Answer{Answer: opts[0]}
	for i, o := range opts {
		a.Ranking = append(a.Ranking, match.Ranked{Option: o, Probability: 1 / float64(len(opts)), Tokens: i + 1})
	}
	return a, nil
}

func (f *gdbmFakeAsker) Match(_ context.Context, lang string, _ match.Profile, _ match.Task) (match.Answer, error) {
	return f.answer(match.MatchOptions(lang))
}
func (f *gdbmFakeAsker) PairUsers(_ context.Context, lang string, _ match.Task, _, _ match.Profile) (match.Answer, error) {
	return f.answer(match.PairOptions(lang))
}
func (f *gdbmFakeAsker) PairTasks(_ context.Context, lang string, _ match.Profile, _, _ match.Task) (match.Answer, error) {
	return f.answer(match.PairOptions(lang))
}
func (f *gdbmFakeAsker) Choose(_ context.Context, _ string, _ match.Profile, ts []match.Task) (match.Answer, error) {
	names, err := match.ChooseOptions(ts)
	if err != nil {
		return match.Answer{}, err
	}
	return f.answer(names)
}

func gdbmRun(t *testing.T, want int, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := runMain(args, &out, &errb); code != want {
		t.Fatalf("%v: exit %d, want %d; stderr:\n%s", args, code, want, errb.String())
	}
	return out.String() + errb.String()
}

// TestGDBMEndToEnd runs simulate -> analyze -> dataset -> bench (with
// predictions, and with a model) -> reassign (observed, and with a model).
func TestGDBMEndToEnd(t *testing.T) {
	fake := &gdbmFakeAsker{}
	saved := newAsker
	newAsker = func(string, []string) (match.Asker, io.Closer, error) { return fake, nil, nil }
	defer func() { newAsker = saved }()

	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	gdbmRun(t, 0, "simulate", "--seed", "42", "--out", p("log.csv"), "--tasks-out", p("tasks.json"))
	gdbmRun(t, 0, "analyze", "--log", p("log.csv"), "--out", p("an"), "--attrs", "education,major")
	for _, f := range []string{"pairs.csv", "summary.json", "bias.png", "bias.svg"} {
		if fi, err := os.Stat(p("an/" + f)); err != nil || fi.Size() == 0 {
			t.Fatalf("analyze: %s: %v", f, err)
		}
	}
	gdbmRun(t, 0, "dataset", "--pairs", p("an/pairs.csv"), "--out", p("ds"), "--tasks", p("tasks.json"))
	gdbmRun(t, 0, "dataset", "--pairs", p("an/pairs.csv"), "--out", p("ds2"), "--tasks", p("tasks.json"))
	for _, f := range []string{"test.jsonl", "train.alpaca.json", "train.messages.jsonl", "summary.json", "u_multi.train.jsonl"} {
		a, _ := os.ReadFile(p("ds/" + f))
		b, _ := os.ReadFile(p("ds2/" + f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Fatalf("dataset %s: empty or not reproducible", f)
		}
	}
	var sum map[string]match.DatasetSummary
	raw, _ := os.ReadFile(p("ds/summary.json"))
	var wrap struct {
		Sets map[string]match.DatasetSummary
	}
	json.Unmarshal(raw, &wrap)
	sum = wrap.Sets
	if sum["u_pair"].Test != 316 || sum["t_pair"].Test != 185 || sum["u_multi"].Test != 99 {
		t.Errorf("dataset summary %+v", sum)
	}

	// Perfect predictions: the labels.
	f, _ := os.Open(p("ds/test.jsonl"))
	entries, err := match.ReadEntries(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var preds bytes.Buffer
	for _, e := range entries {
		json.NewEncoder(&preds).Encode(match.Prediction{ID: e.ID, Answer: e.Label})
	}
	os.WriteFile(p("preds.jsonl"), preds.Bytes(), 0o644)
	out := gdbmRun(t, 0, "bench", "--data", p("ds/test.jsonl"), "--pairs", p("an/pairs.csv"),
		"--predictions", p("preds.jsonl"), "--out", p("bench.json"))
	if !strings.Contains(out, "overall") || strings.Contains(out, "warning") {
		t.Errorf("bench table:\n%s", out)
	}
	var rep struct {
		Overall struct {
			N   int
			Acc float64
		}
	}
	raw, _ = os.ReadFile(p("bench.json"))
	json.Unmarshal(raw, &rep)
	if rep.Overall.N != len(entries) || rep.Overall.Acc != 1 {
		t.Errorf("perfect predictions: %s", raw)
	}

	// Entries without a prediction score as invalid, with a warning that
	// counts them and names the first ones.
	var part bytes.Buffer
	for _, e := range entries[:10] {
		json.NewEncoder(&part).Encode(match.Prediction{ID: e.ID, Answer: e.Label})
	}
	os.WriteFile(p("part.jsonl"), part.Bytes(), 0o644)
	os.WriteFile(p("empty.jsonl"), nil, 0o644)
	for _, tc := range []struct {
		file    string
		missing int
		first   string
	}{
		{"part.jsonl", len(entries) - 10, entries[10].ID},
		{"empty.jsonl", len(entries), entries[0].ID},
	} {
		var stdout, stderr bytes.Buffer
		args := []string{"bench", "--data", p("ds/test.jsonl"), "--pairs", p("an/pairs.csv"),
			"--predictions", p(tc.file), "--out", p("part.json")}
		if code := runMain(args, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.file, code, stderr.String())
		}
		want := fmt.Sprintf("taskmatch bench: warning: %d of %d test entries have no prediction in %s "+
			"(scored as invalid): %s, ", tc.missing, len(entries), p(tc.file), tc.first)
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("%s: stderr %q, want it to hold %q", tc.file, stderr.String(), want)
		}
		var rep struct {
			Sets    map[string]struct{ Invalid int }
			Overall struct{ N int }
		}
		raw, _ := os.ReadFile(p("part.json"))
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		invalid := 0
		for _, s := range rep.Sets {
			invalid += s.Invalid
		}
		if rep.Overall.N != len(entries) || invalid != tc.missing {
			t.Errorf("%s: %d entries, %d invalid; want %d, %d", tc.file, rep.Overall.N, invalid, len(entries), tc.missing)
		}
	}

	os.WriteFile(p("bad.jsonl"), []byte(`{"id":"`+entries[0].ID+`","answer":"A"}`+"\n"+`{"id":"nope","answer":"A"}`+"\n"), 0o644)
	out = gdbmRun(t, 1, "bench", "--data", p("ds/test.jsonl"), "--pairs", p("an/pairs.csv"), "--predictions", p("bad.jsonl"))
	if !strings.Contains(out, "line 2: unknown id \"nope\"") {
		t.Errorf("bad predictions: %s", out)
	}

	// With a model: every entry asked, predictions written next to --out.
	gdbmRun(t, 0, "bench", "--data", p("ds/test.jsonl"), "--pairs", p("an/pairs.csv"), "--model", "m",
		"--tasks", p("tasks.json"), "--out", p("model.json"))
	if fake.calls != len(entries) {
		t.Errorf("asked %d entries, want %d", fake.calls, len(entries))
	}
	if b, err := os.ReadFile(p("model.predictions.jsonl")); err != nil || bytes.Count(b, []byte("\n")) != len(entries) {
		t.Errorf("model predictions: %v", err)
	}
	gdbmRun(t, 0, "bench", "--data", p("ds/test.jsonl"), "--pairs", p("an/pairs.csv"),
		"--predictions", p("model.predictions.jsonl"))

	// With the built-in demo model (no --model), through the real engine,
	// on the first entries of each set to keep the test short.
	newAsker = saved
	var few bytes.Buffer
	perKind := map[string]int{}
	for _, e := range entries {
		if perKind[e.Kind] < 4 {
			perKind[e.Kind]++
			json.NewEncoder(&few).Encode(e)
		}
	}
	os.WriteFile(p("few.jsonl"), few.Bytes(), 0o644)
	gdbmRun(t, 0, "bench", "--data", p("few.jsonl"), "--pairs", p("an/pairs.csv"),
		"--tasks", p("tasks.json"), "--out", p("demo.json"))
	var demoRep struct {
		Sets    map[string]struct{ N, Invalid int }
		Overall struct{ N int }
	}
	raw, _ = os.ReadFile(p("demo.json"))
	if err := json.Unmarshal(raw, &demoRep); err != nil || demoRep.Overall.N != 16 {
		t.Errorf("demo model bench: %v\n%s", err, raw)
	}
	for set, r := range demoRep.Sets {
		if r.Invalid != 0 {
			t.Errorf("demo model bench: %s has %d invalid answers (constrained answers are always valid)", set, r.Invalid)
		}
	}
	newAsker = func(string, []string) (match.Asker, io.Closer, error) { return fake, nil, nil }

	out = gdbmRun(t, 0, "reassign", "--pairs", p("an/pairs.csv"), "--out", p("re"))
	if !strings.Contains(out, "pass_rate") {
		t.Errorf("reassign: %s", out)
	}
	csv, _ := os.ReadFile(p("re/reassign.csv"))
	if !strings.HasPrefix(string(csv), "group,users,submissions,tasks_kept,pass_rate_before,eart_before,top_tasks,pass_rate_after,eart_after\n") {
		t.Errorf("reassign.csv:\n%.200s", csv)
	}
	gdbmRun(t, 0, "reassign", "--pairs", p("an/pairs.csv"), "--out", p("re2"), "--model", "m", "--top", "2")
}

func TestGDBMBadInput(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	os.WriteFile(p("empty.csv"), nil, 0o644)
	os.WriteFile(p("bad.csv"), []byte(
		"submission_id,user_id,gender,age,education,major,task,review_state,passed,cash,points,submitted_at\n"+
			"S1,U1,Female,18-29,Ph.D.,Medicine,T,passed,0,1.00,1,2023-01-01\n"), 0o644)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"analyze", "--log", p("empty.csv"), "--out", p("o")}, 1, "empty file"},
		{[]string{"analyze", "--log", p("bad.csv"), "--out", p("o")}, 1, "line 2: passed is 0 but review_state is passed"},
		{[]string{"analyze", "--out", p("o")}, 2, "--log and --out are required"},
		{[]string{"analyze", "--log", p("bad.csv"), "--out", p("o"), "--attrs", "height"}, 2, "unknown attribute"},
		{[]string{"analyze", "--log", p("bad.csv"), "--out", p("o"), "--attrs", ""}, 2, "--attrs is empty"},
		{[]string{"analyze", "--log", p("bad.csv"), "--out", p("o"), "--attrs", " "}, 2, "--attrs is empty"},
		{[]string{"simulate"}, 2, "--out is required"},
		{[]string{"dataset", "--pairs", p("none.csv"), "--out", p("o"), "--lang", "fr"}, 2, "unknown language"},
		{[]string{"reassign", "--pairs", p("empty.csv"), "--out", p("o")}, 1, "empty file"},
		{[]string{"bench", "--data", p("x"), "--pairs", p("y"), "--predictions", p("z"), "--model", "m"}, 2, "cannot be used"},
	}
	for _, tt := range tests {
		out := gdbmRun(t, tt.code, tt.args...)
		if !strings.Contains(out, "taskmatch "+tt.args[0]+": ") || !strings.Contains(out, tt.want) {
			t.Errorf("%v: got %q, want %q", tt.args, out, tt.want)
		}
	}
}

func TestBenchModelNotWired(t *testing.T) {
	saved := newAsker
	newAsker = nil
	defer func() { newAsker = saved }()
	if _, _, err := openAsker("m", nil); err == nil || !strings.Contains(err.Error(), "not wired") {
		t.Errorf("got %v", err)
	}
}

// TestGDBMOutputsNeverOverwriteInputs checks that no command writes over
// a file it reads (or one output over another).
func TestGDBMOutputsNeverOverwriteInputs(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	gdbmRun(t, 2, "simulate", "--seed", "1", "--out", p("same.csv"), "--tasks-out", p("same.csv"))
	gdbmRun(t, 0, "simulate", "--seed", "42", "--out", p("log.csv"), "--tasks-out", p("tasks.json"))
	gdbmRun(t, 0, "analyze", "--log", p("log.csv"), "--out", p("an"), "--attrs", "education,major")
	gdbmRun(t, 2, "dataset", "--pairs", p("an/pairs.csv"), "--out", p("an"))
	gdbmRun(t, 0, "dataset", "--pairs", p("an/pairs.csv"), "--out", p("ds"))
	before, _ := os.ReadFile(p("ds/test.jsonl"))
	gdbmRun(t, 2, "bench", "--data", p("ds/test.jsonl"), "--pairs", p("an/pairs.csv"),
		"--predictions", p("ds/test.jsonl"), "--out", p("ds/test.jsonl"))
	gdbmRun(t, 2, "bench", "--data", p("ds/test.jsonl"), "--pairs", p("an/pairs.csv"),
		"--predictions", p("x.jsonl"), "--out", p("an/pairs.csv"))
	gdbmRun(t, 2, "bench", "--data", p("ds/test.jsonl"), "--pairs", p("an/pairs.csv"),
		"--predictions-out", p("ds/test.jsonl"))
	after, _ := os.ReadFile(p("ds/test.jsonl"))
	if !bytes.Equal(before, after) {
		t.Error("ds/test.jsonl changed")
	}
}
