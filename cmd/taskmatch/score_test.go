package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScoreCommand(t *testing.T) {
	const (
		profile = `{"gender": "Female", "age": "18-29", "education": "Undergraduate", "major": "Literature"}`
		task    = `{"name": "Poetry translation", "description": "Translate classical poems"}`
		task2   = `{"name": "Code review"}`
	)
	lines := []struct {
		line, code string // code: the error code, "" for an answer
		options    int
	}{
		{`{"kind": "match", "profile": ` + profile + `, "task": ` + task + `}`, "", 2},
		{`{"kind": "match", "profile": ` + profile + `, "task": ` + task + `, "lang": "zh"}`, "", 2},
		{`{"kind": "pair", "task": ` + task + `, "a": ` + profile + `, "b": {"text": "a chemist"}}`, "", 2},
		{`{"kind": "pair", "profile": ` + profile + `, "a": ` + task + `, "b": ` + task2 + `}`, "", 2},
		{`{"kind": "choose", "profile": ` + profile + `, "tasks": [` + task + `, ` + task2 + `, {"name": "QA"}]}`, "", 3},
		{`{"kind": "score", "messages": [{"role": "user", "content": "Is it?"}], "options": ["Yes", "No", "Maybe"]}`, "", 3},
		{`{"kind": "match", "profile": `, "bad_json", 0},
		{`{"kind": "match", "task": ` + task + `}`, "bad_request", 0},
		{`{"kind": "choose", "profile": ` + profile + `, "tasks": []}`, "bad_request", 0},
		{`{"kind": "guess"}`, "bad_request", 0},
		{`{"kind": "score", "prompt": "hi", "options": ["a"], "extra": true}`, "bad_json", 0},
		{`{"kind": "score", "prompt": "hi", "options": ["a", "b"], "mode": "greedy"}`, "", 2},
	}
	// Blank lines get an error each, so that output line N answers input
	// line N.
	lines = append(lines[:4:4], append([]struct {
		line, code string
		options    int
	}{{"", "bad_json", 0}, {"   ", "bad_json", 0}}, lines[4:]...)...)
	var in strings.Builder
	for _, l := range lines {
		in.WriteString(l.line + "\n")
	}
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(inPath, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runMain([]string{"score", "--in", inPath, "--out", outPath}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(out) != len(lines) {
		t.Fatalf("%d output lines for %d input lines:\n%s", len(out), len(lines), data)
	}
	for i, l := range lines {
		var got struct {
			Answer  string            `json:"answer"`
			Ranking []json.RawMessage `json:"ranking"`
			Error   *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(out[i]), &got); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, out[i])
		}
		switch {
		case l.code == "" && (got.Error != nil || got.Answer == "" || len(got.Ranking) != l.options):
			t.Errorf("line %d: %s, want an answer over %d options", i+1, out[i], l.options)
		case l.code != "" && (got.Error == nil || got.Error.Code != l.code || got.Error.Message == ""):
			t.Errorf("line %d: %s, want error %s", i+1, out[i], l.code)
		}
	}
	if n := strings.Count(stderr.String(), "carry no meaning"); n != 1 {
		t.Errorf("the demo warning appears %d times in the log:\n%s", n, stderr.String())
	}
	if !strings.Contains(string(data), `"line 5: empty line"`) || !strings.Contains(string(data), `"line 6: empty line"`) {
		t.Errorf("no line numbers in the blank lines' errors:\n%s", data)
	}
	if !strings.Contains(stderr.String(), "errors=7") {
		t.Errorf("no summary in the log:\n%s", stderr.String())
	}

	// Standard input and output.
	scoreStdin = strings.NewReader(lines[0].line + "\n" + `{"kind": "match", "profile": `)
	defer func() { scoreStdin = os.Stdin }()
	stdout.Reset()
	if code := runMain([]string{"score"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if out := strings.Split(strings.TrimSpace(stdout.String()), "\n"); len(out) != 2 || !strings.Contains(out[1], `"bad_json"`) {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

func TestScoreUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runMain([]string{"score", "--nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
	if code := runMain([]string{"score", "--in", filepath.Join(t.TempDir(), "missing")}, &stdout, &stderr); code != 1 {
		t.Errorf("missing input: exit %d", code)
	}
	for _, args := range [][]string{{"--threads", "-1"}, {"--adapter", "/x"}, {"--device", "gpu"}, {"--context", "-3"}} {
		if code := runMain(append([]string{"score"}, args...), &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}

	// The same file as input and output (also through a second name) is
	// refused, and left alone.
	dir := t.TempDir()
	same := filepath.Join(dir, "same.jsonl")
	const content = `{"kind": "score", "prompt": "hi", "options": ["a", "b"]}` + "\n"
	os.WriteFile(same, []byte(content), 0o644)
	os.Link(same, filepath.Join(dir, "link.jsonl"))
	for _, out := range []string{same, filepath.Join(dir, "link.jsonl"), filepath.Join(dir, ".", "same.jsonl")} {
		stderr.Reset()
		if code := runMain([]string{"score", "--in", same, "--out", out}, &stdout, &stderr); code != 2 {
			t.Errorf("--out %s: exit %d, want 2: %s", out, code, stderr.String())
		}
		if data, _ := os.ReadFile(same); string(data) != content {
			t.Errorf("--out %s: the input became %q", out, data)
		}
	}

	// A model that fails to load leaves an earlier output alone.
	prev := filepath.Join(dir, "prev.jsonl")
	os.WriteFile(prev, []byte("earlier results\n"), 0o644)
	if code := runMain([]string{"score", "--model", filepath.Join(dir, "nomodel"), "--in", same, "--out", prev}, &stdout, &stderr); code != 1 {
		t.Errorf("missing model: exit %d, want 1", code)
	}
	if data, _ := os.ReadFile(prev); string(data) != "earlier results\n" {
		t.Errorf("a failed load changed the output to %q", data)
	}
	if code := runMain([]string{"score", "--in", same, "--out", filepath.Join(dir, "nodir", "out.jsonl")}, &stdout, &stderr); code != 1 {
		t.Errorf("output in a missing directory: exit %d, want 1", code)
	}
}

func TestScoreTemplates(t *testing.T) {
	dir := t.TempDir()
	tplPath, inPath := filepath.Join(dir, "templates.json"), filepath.Join(dir, "in.jsonl")
	os.WriteFile(tplPath, []byte(`{"match.en": "{{.Profile}} / {{.Task}}: match?"}`), 0o644)
	os.WriteFile(inPath, []byte(`{"kind": "match", "profile": {"major": "Medicine"}, "task": {"name": "QA"}}`+"\n"), 0o644)
	tokens := func(args ...string) int {
		var stdout, stderr bytes.Buffer
		if code := runMain(append([]string{"score", "--in", inPath}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		var r struct {
			PromptTokens int `json:"prompt_tokens"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r.PromptTokens
	}
	builtin, custom := tokens(), tokens("--templates", tplPath)
	if custom >= builtin || custom == 0 {
		t.Errorf("prompt tokens: %d with the templates file, %d without", custom, builtin)
	}
	var stdout, stderr bytes.Buffer
	os.WriteFile(tplPath, []byte(`{"match.en": "{{.Nope}}"}`), 0o644)
	if code := runMain([]string{"score", "--in", inPath, "--templates", tplPath}, &stdout, &stderr); code != 1 {
		t.Errorf("bad templates file: exit %d", code)
	}
}
