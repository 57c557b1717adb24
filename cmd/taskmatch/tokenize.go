package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/taskmatch/taskmatch/tokenizer"
)

func init() {
	register("tokenize", "tokenize text or chat messages (JSONL)", runTokenize)
}

// tokenizeStdin is where tokenize reads its input; tests replace it.
var tokenizeStdin io.Reader = os.Stdin

// tokenizeLine is one input line: {"text": ...}, or with --chat
// {"messages": [...], "add_generation_prompt": ...}.
type tokenizeLine struct {
	Text                *string             `json:"text"`
	Messages            []tokenizer.Message `json:"messages"`
	AddGenerationPrompt *bool               `json:"add_generation_prompt"`
}

// runTokenize reads JSONL from stdin and writes one line per input line:
// {"ids": [...]}, or {"error": {"code", "message"}} for a blank line or one
// it cannot tokenize. Plain
// text is encoded like Hugging Face encode(text, add_special_tokens=False);
// with --chat the messages go through the checkpoint's chat template and
// their contents never turn into special tokens.
func runTokenize(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("tokenize", stderr)
	modelDir := fs.String("model", "", "checkpoint or tokenizer directory (required)")
	chat := fs.Bool("chat", false,
		`read {"messages": [...], "add_generation_prompt": true}; apply the chat template`)
	if rc, ok := parseFlags(fs, args); !ok {
		return rc
	}
	if *modelDir == "" {
		failf(stderr, "tokenize", "usage: taskmatch tokenize --model DIR [--chat] < in.jsonl")
		return 2
	}
	tk, err := tokenizer.Load(*modelDir)
	if err != nil {
		return failf(stderr, "tokenize", "%v", err)
	}

	in := bufio.NewReaderSize(tokenizeStdin, 1<<16)
	out := bufio.NewWriter(stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	type errBody struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	for lineNo := 1; ; lineNo++ {
		line, readErr := in.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			out.Flush()
			return failf(stderr, "tokenize", "reading stdin: %v", readErr)
		}
		if readErr != nil && len(line) == 0 {
			break // the end, after a final newline
		}
		var werr error
		if line = bytes.TrimSpace(line); len(line) == 0 {
			werr = enc.Encode(struct {
				Error errBody `json:"error"`
			}{errBody{"bad_json", fmt.Sprintf("line %d: empty line", lineNo)}})
		} else if ids, err := tokenizeOne(tk, line, *chat); err != nil {
			werr = enc.Encode(struct {
				Error errBody `json:"error"`
			}{errBody{"bad_request", fmt.Sprintf("line %d: %v", lineNo, err)}})
		} else {
			werr = enc.Encode(struct {
				IDs []int `json:"ids"`
			}{ids})
		}
		if werr != nil {
			return failf(stderr, "tokenize", "writing output: %v", werr)
		}
		if readErr != nil {
			break
		}
	}
	if err := out.Flush(); err != nil {
		return failf(stderr, "tokenize", "writing output: %v", err)
	}
	return 0
}

// tokenizeOne returns the ids of one input line.
func tokenizeOne(tk *tokenizer.Tokenizer, line []byte, chat bool) ([]int, error) {
	var in tokenizeLine
	if err := json.Unmarshal(line, &in); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if !chat {
		if in.Text == nil {
			return nil, errors.New(`missing "text" (use --chat for "messages")`)
		}
		return append([]int{}, tk.Encode(*in.Text)...), nil
	}
	if len(in.Messages) == 0 {
		return nil, errors.New(`missing or empty "messages"`)
	}
	addGen := in.AddGenerationPrompt == nil || *in.AddGenerationPrompt
	return tk.EncodeChat(in.Messages, addGen)
}
