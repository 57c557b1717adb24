package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/taskmatch/taskmatch/match"
	"github.com/taskmatch/taskmatch/tokenizer"
)

// Request kinds: the endpoint of a request body, and the "kind" of a line
// read by DoLine.
const (
	KindMatch  = "match"
	KindPair   = "pair"
	KindChoose = "choose"
	KindScore  = "score"
)

// Kinds lists the request kinds.
var Kinds = []string{KindMatch, KindPair, KindChoose, KindScore}

// MatchRequest is the body of POST /v1/match: does the profile match the
// task? Lang is "en" (the default) or "zh".
type MatchRequest struct {
	Profile *match.Profile `json:"profile"`
	Task    *match.Task    `json:"task"`
	Lang    string         `json:"lang,omitempty"`
}

// PairRequest is the body of POST /v1/pair, in one of two forms: Task with
// profiles A and B (which user suits the task better), or Profile with tasks
// A and B (which task suits the user better). A and B are decoded as
// profiles or tasks according to the form.
type PairRequest struct {
	Task    *match.Task     `json:"task,omitempty"`
	Profile *match.Profile  `json:"profile,omitempty"`
	A       json.RawMessage `json:"a"`
	B       json.RawMessage `json:"b"`
	Lang    string          `json:"lang,omitempty"`
}

// ChooseRequest is the body of POST /v1/choose: which of the tasks suits
// the profile best? The answer is a task's name.
type ChooseRequest struct {
	Profile *match.Profile `json:"profile"`
	Tasks   []match.Task   `json:"tasks"`
	Lang    string         `json:"lang,omitempty"`
}

// ScoreRequest is the body of POST /v1/score: a chat (Messages, rendered
// with the checkpoint's chat template and the generation prompt; contents
// never become control tokens) or raw text (Prompt, where special tokens
// written out are recognised), and the options to rank. Mode is "full" (the
// default) or "greedy"; TokenLogProbs adds each option's per-token
// log-probabilities to the ranking.
type ScoreRequest struct {
	Messages      []tokenizer.Message `json:"messages,omitempty"`
	Prompt        string              `json:"prompt,omitempty"`
	Options       []string            `json:"options"`
	Mode          string              `json:"mode,omitempty"`
	TokenLogProbs bool                `json:"token_logprobs,omitempty"`
}

// decodeStrict decodes exactly one JSON value from data into v: unknown
// fields, keys that match a field only regardless of case, duplicated keys
// and anything after the value are errors.
func decodeStrict(data []byte, v any) error {
	if err := checkText(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errorf(http.StatusBadRequest, CodeBadJSON, "empty body: want a JSON object")
		}
		return errorf(http.StatusBadRequest, CodeBadJSON, "bad JSON: "+describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, CodeBadJSON, "bad JSON: data after the JSON object")
	}
	return checkKeys(data, v, "")
}

// trimJSON drops the "json: " prefix of encoding/json's errors.
func trimJSON(err error) string {
	s := err.Error()
	if len(s) > 6 && s[:6] == "json: " {
		return s[6:]
	}
	return s
}

// isAbsent reports whether a raw field was left out or set to null.
func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// marshal is json.Marshal without HTML escaping, so that "<|im_end|>" in
// an option stays readable.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func missing(field string) *Error {
	return badRequest(fmt.Sprintf("missing %q", field))
}
