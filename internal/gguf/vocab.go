package gguf

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Token types, as llama.cpp numbers them (tokenizer.ggml.token_type).
const (
	TokenNormal      int32 = 1
	TokenUnknown     int32 = 2
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
	TokenByte        int32 = 6
)

// Vocab is a byte-level BPE vocabulary in GGUF form: one entry per id up to
// the model's vocabulary size, ids the tokenizer does not use filled with
// "[PADn]" tokens of type TokenUnused.
type Vocab struct {
	Tokens []string
	Types  []int32
	Merges []string // "left right", in priority order
	BOS    int      // -1 when unknown
	EOS    int      // -1 when unknown
	AddBOS *bool    // nil when tokenizer_config.json does not say
}

type tokenizerJSON struct {
	Model struct {
		Type   string          `json:"type"`
		Vocab  map[string]int  `json:"vocab"`
		Merges json.RawMessage `json:"merges"`
	} `json:"model"`
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
}

type tokenizerConfig struct {
	BOS    json.RawMessage `json:"bos_token"`
	EOS    json.RawMessage `json:"eos_token"`
	AddBOS *bool           `json:"add_bos_token"`
}

// LoadVocab reads dir/tokenizer.json (or tokenizer.json.gz) and, when
// present, dir/tokenizer_config.json, and lays the vocabulary out over
// size ids. A tokenizer with an id at or above size is an error.
func LoadVocab(dir string, size int) (*Vocab, error) {
	data, err := readMaybeGzip(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("gguf: tokenizer.json: %v", err)
	}
	if tj.Model.Type != "BPE" {
		return nil, fmt.Errorf("gguf: tokenizer.json: model type %q, want BPE", tj.Model.Type)
	}
	v := &Vocab{Tokens: make([]string, size), Types: make([]int32, size), BOS: -1, EOS: -1}
	set := func(id int, tok string, typ int32) error {
		if id < 0 || id >= size {
			return fmt.Errorf("gguf: token %q has id %d outside the vocabulary of %d", tok, id, size)
		}
		v.Tokens[id], v.Types[id] = tok, typ
		return nil
	}
	for tok, id := range tj.Model.Vocab {
		if err := set(id, tok, TokenNormal); err != nil {
			return nil, err
		}
	}
	byContent := map[string]int{}
	for _, at := range tj.AddedTokens {
		typ := TokenUserDefined
		if at.Special {
			typ = TokenControl
		}
		if err := set(at.ID, at.Content, typ); err != nil {
			return nil, err
		}
		byContent[at.Content] = at.ID
	}
	for id, typ := range v.Types {
		if typ == 0 {
			v.Tokens[id], v.Types[id] = fmt.Sprintf("[PAD%d]", id), TokenUnused
		}
	}
	if v.Merges, err = parseMerges(tj.Model.Merges); err != nil {
		return nil, err
	}
	if err := v.readConfig(dir, byContent); err != nil {
		return nil, err
	}
	return v, nil
}

// readConfig takes bos/eos/add_bos from tokenizer_config.json, when it
// exists. Token strings are looked up among the added tokens.
func (v *Vocab) readConfig(dir string, byContent map[string]int) error {
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	var tc tokenizerConfig
	if err := json.Unmarshal(data, &tc); err != nil {
		return fmt.Errorf("gguf: tokenizer_config.json: %v", err)
	}
	v.AddBOS = tc.AddBOS
	if id, ok := byContent[tokenContent(tc.BOS)]; ok {
		v.BOS = id
	}
	if id, ok := byContent[tokenContent(tc.EOS)]; ok {
		v.EOS = id
	}
	return nil
}

// tokenContent reads a special token given as a string or as an
// {"content": ...} object; null gives "".
func tokenContent(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.Content
	}
	return ""
}

// parseMerges accepts both merge forms: "a b" strings and ["a", "b"] pairs.
func parseMerges(raw json.RawMessage) ([]string, error) {
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		return strs, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("gguf: tokenizer.json: merges: %v", err)
	}
	out := make([]string, len(pairs))
	for i, p := range pairs {
		if strings.Contains(p[0], " ") || strings.Contains(p[1], " ") {
			return nil, fmt.Errorf("gguf: tokenizer.json: merge %q contains a space", p)
		}
		out[i] = p[0] + " " + p[1]
	}
	return out, nil
}

// readMaybeGzip reads path, or path+".gz" decompressed when path is absent.
func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	gz, err := os.ReadFile(path + ".gz")
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("gguf: %s.gz: %v", path, err)
	}
	data, err = io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gguf: %s.gz: %v", path, err)
	}
	return data, nil
}
