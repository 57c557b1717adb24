package server

import (
	"encoding/json"
	"testing"
)

// FuzzPrepare decodes arbitrary bodies of every kind: a body is either a
// request with a prompt and options, or a 4xx error that encodes as the
// JSON error shape. It never panics and never blames the server.
func FuzzPrepare(f *testing.F) {
	seeds := []string{
		goodMatch,
		`{"task": ` + taskJSON + `, "a": ` + profileJSON + `, "b": {"text": "x"}}`,
		`{"profile": ` + profileJSON + `, "a": ` + taskJSON + `, "b": ` + task2JSON + `}`,
		`{"profile": ` + profileJSON + `, "tasks": [` + taskJSON + `, ` + task2JSON + `]}`,
		`{"messages": [{"role": "user", "content": "hi"}], "options": ["a", "b"], "mode": "greedy"}`,
		`{"prompt": "<|im_start|>user", "options": ["a"], "token_logprobs": true}`,
		`{"a": null, "b": 1}`, `null`, `[]`, `{"profile": {"text": "x"}} x`, "\xff",
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	svc := NewService(tiny, nil, Limits{MaxBody: 1 << 12, MaxOptions: 8})
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		k := Kinds[int(kind)%len(Kinds)]
		req, err := svc.Prepare(k, body)
		if err != nil {
			e := AsError(err)
			if e.Status != 400 && e.Status != 413 {
				t.Fatalf("%s %q: status %d (%v)", k, body, e.Status, err)
			}
			data, jerr := json.Marshal(e)
			if jerr != nil || !json.Valid(data) {
				t.Fatalf("%s %q: error body %s: %v", k, body, data, jerr)
			}
			return
		}
		if len(req.Options) == 0 || len(req.Options) > 8 || (len(req.Messages) == 0 && req.Prompt == "") {
			t.Fatalf("%s %q: accepted as %+v", k, body, req)
		}
		if _, err := svc.DoLine(t.Context(), append([]byte(`{"kind": "bogus", "x": `), append(body, '}')...)); err == nil {
			t.Fatalf("bogus kind accepted")
		}
	})
}
