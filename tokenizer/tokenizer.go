// Package tokenizer reads Hugging Face tokenizer.json and
// tokenizer_config.json files and turns text into token ids and back, in
// pure Go, with the same ids as the Hugging Face tokenizers library.
//
// It implements what Qwen2 and Llama-3 checkpoints use: byte-level BPE
// (merges stored as "a b" strings or ["a", "b"] pairs, ignore_merges), the
// NFC normalizer, the Split pre-tokenizer with the Qwen2 or Llama-3 pattern
// followed by ByteLevel, added and special tokens, the ByteLevel decoder, and
// the checkpoint's own Jinja chat template.
//
// There are two ways to encode text. Encode recognises added tokens written
// in the text, like Hugging Face encode(text, add_special_tokens=False).
// EncodePlain never does: use it, or EncodeChat, for text that comes from
// users, so that a profile containing "<|im_end|>" stays plain text.
//
// Not implemented, and reported by Parse as an error: other models
// (WordPiece, Unigram), byte_fallback, other pre-tokenizer patterns and
// other normalizers. Added tokens are always matched in the raw text, also
// those marked "normalized" (Qwen2 and Llama-3 have none).
//
// A Tokenizer is safe for concurrent use.
package tokenizer

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
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer encodes text into token ids and decodes ids into text. Create
// one with Load, LoadFS or Parse.
type Tokenizer struct {
	model     *bpe
	split     splitter
	normalize *norm.Form // nil: no normalizer
	added     *addedMatcher
	addedText map[int]string // id -> content of each added token
	special   map[int]bool   // ids of added tokens marked special
	idToToken []string       // id -> token in vocabulary form

	bosID, eosID int // -1 when not set
	bos, eos     string

	chat      *chatTemplate // nil when the checkpoint has no template
	endOfTurn []int
}

// Load reads tokenizer.json (or tokenizer.json.gz) and, when present,
// tokenizer_config.json and chat_template.jinja from dir. Its errors name
// the file they concern by its path under dir.
func Load(dir string) (*Tokenizer, error) {
	return loader{
		fsys: os.DirFS(dir),
		dir:  ".",
		show: func(name string) string { return filepath.Join(dir, name) },
	}.load()
}

// LoadFiles reads a tokenizer from the paths of its tokenizer.json
// (gzipped when the name ends in ".gz") and tokenizer_config.json;
// configPath may be "", and then the tokenizer has no BOS, EOS or chat
// template. Its errors name the file they concern by its path.
func LoadFiles(tokenizerPath, configPath string) (*Tokenizer, error) {
	tj, err := os.ReadFile(tokenizerPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if strings.HasSuffix(tokenizerPath, ".gz") {
		if tj, err = gunzip(tj); err != nil {
			return nil, fileError(tokenizerPath, err)
		}
	}
	var cfg []byte
	if configPath != "" {
		if cfg, err = os.ReadFile(configPath); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	}
	return parse(tj, cfg, tokenizerPath, configPath)
}

// LoadFS is Load for a directory of a file system, such as an embed.FS.
// Its errors name files by their path in fsys.
func LoadFS(fsys fs.FS, dir string) (*Tokenizer, error) {
	return loader{
		fsys: fsys,
		dir:  dir,
		show: func(name string) string { return pathJoin(dir, name) },
	}.load()
}

// loader reads the files of a tokenizer from the directory dir of fsys.
// show turns a file name into the path that errors give for it, so that
// Load names the directory it was given rather than os.DirFS's ".".
type loader struct {
	fsys fs.FS
	dir  string
	show func(name string) string
}

func (l loader) load() (*Tokenizer, error) {
	tj, tjName, err := l.readMaybeGzip("tokenizer.json")
	if err != nil {
		return nil, err
	}
	const configName = "tokenizer_config.json"
	cfg, err := fs.ReadFile(l.fsys, pathJoin(l.dir, configName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, l.pathError(configName, err)
	}
	t, err := parse(tj, cfg, l.show(tjName), l.show(configName))
	if err != nil {
		return nil, err
	}
	// Newer checkpoints keep the template in its own file.
	if t.chat == nil {
		const name = "chat_template.jinja"
		src, err := fs.ReadFile(l.fsys, pathJoin(l.dir, name))
		if err == nil {
			if err := t.SetChatTemplate(string(src)); err != nil {
				return nil, fileError(l.show(name), err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, l.pathError(name, err)
		}
	}
	return t, nil
}

// ErrNotFound is what the error of Load matches (errors.Is) when the
// directory holds neither tokenizer.json nor tokenizer.json.gz.
var ErrNotFound = errors.New("tokenizer: no tokenizer.json")

// notFoundError names the directory searched and matches ErrNotFound.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

// readMaybeGzip reads name, or name+".gz" decompressed when name is
// missing, and returns the data and the name of the file read.
func (l loader) readMaybeGzip(name string) ([]byte, string, error) {
	data, err := fs.ReadFile(l.fsys, pathJoin(l.dir, name))
	if err == nil {
		return data, name, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", l.pathError(name, err)
	}
	gzName := name + ".gz"
	data, err = fs.ReadFile(l.fsys, pathJoin(l.dir, gzName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", &notFoundError{fmt.Sprintf("tokenizer: no %s or %s in %s", name, gzName, l.show("."))}
	}
	if err != nil {
		return nil, "", l.pathError(gzName, err)
	}
	if data, err = gunzip(data); err != nil {
		return nil, "", fileError(l.show(gzName), err)
	}
	return data, gzName, nil
}

// pathError is err, from reading the file name, with the path that l
// shows for that file.
func (l loader) pathError(name string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return fmt.Errorf("tokenizer: %w", &fs.PathError{Op: pe.Op, Path: l.show(name), Err: pe.Err})
	}
	return fileError(l.show(name), err)
}

func pathJoin(dir, name string) string {
	switch {
	case dir == "." || dir == "":
		return name
	case name == ".":
		return dir
	}
	return dir + "/" + name
}

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// fileError is err, an error about the file at path, with that path
// written after the package prefix: "tokenizer: PATH: what went wrong".
// It unwraps to err.
func fileError(path string, err error) error {
	return &pathPrefixError{path: path, err: err}
}

type pathPrefixError struct {
	path string
	err  error
}

func (e *pathPrefixError) Error() string {
	return "tokenizer: " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "tokenizer: ")
}

func (e *pathPrefixError) Unwrap() error { return e.err }

// The parts of tokenizer.json that this package reads.
type fileJSON struct {
	AddedTokens  []addedTokenJSON `json:"added_tokens"`
	Normalizer   json.RawMessage  `json:"normalizer"`
	PreTokenizer json.RawMessage  `json:"pre_tokenizer"`
	Decoder      json.RawMessage  `json:"decoder"`
	Model        struct {
		Type                    string          `json:"type"`
		Vocab                   map[string]int  `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
		IgnoreMerges            bool            `json:"ignore_merges"`
		ByteFallback            bool            `json:"byte_fallback"`
		Dropout                 *float64        `json:"dropout"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	} `json:"model"`
}

type addedTokenJSON struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// The parts of tokenizer_config.json that this package reads.
type configJSON struct {
	BOSToken     tokenField      `json:"bos_token"`
	EOSToken     tokenField      `json:"eos_token"`
	ChatTemplate json.RawMessage `json:"chat_template"`
}

// tokenField is a special token in tokenizer_config.json: a string, null,
// or an object with a "content" field.
type tokenField string

func (f *tokenField) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*f = tokenField(s)
		return nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return errors.New("special token is neither a string nor an object with content")
	}
	*f = tokenField(obj.Content)
	return nil
}

// Parse builds a Tokenizer from the contents of tokenizer.json and
// tokenizer_config.json; config may be nil, and then the tokenizer has no
// BOS, EOS or chat template. It returns an error for a file it cannot read
// or for a model, normalizer, pre-tokenizer or decoder it does not
// implement.
//
// Errors name the file they concern: "tokenizer: tokenizer.json: ...".
func Parse(tokenizerJSON, config []byte) (*Tokenizer, error) {
	return parse(tokenizerJSON, config, "tokenizer.json", "tokenizer_config.json")
}

// parse is Parse with the names its errors give the two files.
func parse(tokenizerJSON, config []byte, tjName, configName string) (*Tokenizer, error) {
	t, err := parseTokenizerJSON(tokenizerJSON)
	if err != nil {
		return nil, fileError(tjName, err)
	}
	if config != nil {
		if err := t.parseConfig(config); err != nil {
			return nil, fileError(configName, err)
		}
	}
	t.endOfTurn = t.findEndOfTurn()
	return t, nil
}

// parseTokenizerJSON builds a Tokenizer without a config from the contents
// of tokenizer.json.
func parseTokenizerJSON(tokenizerJSON []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t := &Tokenizer{bosID: -1, eosID: -1}
	var err error
	if t.model, err = newBPE(&f); err != nil {
		return nil, err
	}
	if t.normalize, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if t.split, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, err
	}

	// The id -> token table covers the vocabulary and the added tokens.
	size := 0
	for _, id := range f.Model.Vocab {
		size = max(size, id+1)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 || a.ID >= maxID {
			return nil, fmt.Errorf("tokenizer: added token %q has id %d out of range", a.Content, a.ID)
		}
		size = max(size, a.ID+1)
	}
	t.idToToken = make([]string, size)
	for tok, id := range f.Model.Vocab {
		t.idToToken[id] = tok
	}
	t.addedText = make(map[int]string, len(f.AddedTokens))
	t.special = make(map[int]bool)
	for _, a := range f.AddedTokens {
		if a.Content == "" {
			return nil, fmt.Errorf("tokenizer: added token %d is empty", a.ID)
		}
		t.idToToken[a.ID] = a.Content
		t.addedText[a.ID] = a.Content
		if a.Special {
			t.special[a.ID] = true
		}
	}
	t.added = newAddedMatcher(f.AddedTokens)
	return t, nil
}

func (t *Tokenizer) parseConfig(config []byte) error {
	var c configJSON
	if err := json.Unmarshal(config, &c); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	t.bos, t.eos = string(c.BOSToken), string(c.EOSToken)
	if t.bos != "" {
		id, ok := t.TokenID(t.bos)
		if !ok {
			return fmt.Errorf("tokenizer: bos_token %q is not in the vocabulary", t.bos)
		}
		t.bosID = id
	}
	if t.eos != "" {
		id, ok := t.TokenID(t.eos)
		if !ok {
			return fmt.Errorf("tokenizer: eos_token %q is not in the vocabulary", t.eos)
		}
		t.eosID = id
	}
	src, err := templateSource(c.ChatTemplate)
	if err != nil {
		return err
	}
	if src != "" {
		return t.SetChatTemplate(src)
	}
	return nil
}

// templateSource returns chat_template, which is either a string or a list
// of {"name", "template"} objects, of which the one named "default" is used.
func templateSource(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", errors.New("tokenizer: chat_template is neither a string " +
			"nor a list of named templates")
	}
	for _, e := range list {
		if e.Name == "default" {
			return e.Template, nil
		}
	}
	return "", errors.New("tokenizer: chat_template has no template named \"default\"")
}

// maxID bounds token ids, so that a corrupt file cannot make Parse
// allocate an id table of any size.
const maxID = 1 << 24

func newBPE(f *fileJSON) (*bpe, error) {
	m := &f.Model
	switch {
	case m.Type != "" && m.Type != "BPE":
		return nil, fmt.Errorf("tokenizer: model type %q is not supported (only BPE)", m.Type)
	case m.ByteFallback:
		return nil, errors.New("tokenizer: BPE byte_fallback is not supported")
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, errors.New("tokenizer: BPE dropout is not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, errors.New("tokenizer: BPE continuing_subword_prefix is not supported")
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, errors.New("tokenizer: BPE end_of_word_suffix is not supported")
	case len(m.Vocab) == 0:
		return nil, errors.New("tokenizer: tokenizer.json has an empty vocabulary")
	}
	for tok, id := range m.Vocab {
		if id < 0 || id >= maxID {
			return nil, fmt.Errorf("tokenizer: token %q has id %d out of range", tok, id)
		}
	}

	pairs, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	b := &bpe{
		vocab:        m.Vocab,
		merges:       make(map[uint64]merge, len(pairs)),
		ignoreMerges: m.IgnoreMerges,
		bytes:        newByteLevel(),
		cache:        newPieceCache(),
	}
	for c := range b.byteIDs {
		b.byteIDs[c] = -1
		if id, ok := m.Vocab[string(b.bytes.encR[c])]; ok {
			b.byteIDs[c] = id
		}
	}
	for rank, p := range pairs {
		left, okL := m.Vocab[p[0]]
		right, okR := m.Vocab[p[1]]
		id, okM := m.Vocab[p[0]+p[1]]
		if !okL || !okR || !okM {
			return nil, fmt.Errorf("tokenizer: merge %d (%q %q) uses a token "+
				"that is not in the vocabulary", rank, p[0], p[1])
		}
		key := pairKey(left, right)
		if _, dup := b.merges[key]; !dup {
			b.merges[key] = merge{rank: int32(rank), id: int32(id)}
		}
	}
	return b, nil
}

// parseMerges reads the merges in either stored form: "a b" strings or
// ["a", "b"] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		pairs := make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("tokenizer: merge %d (%q) is not two tokens", i, s)
			}
			pairs[i] = [2]string{a, b}
		}
		return pairs, nil
	}
	var lists [][]string
	if err := json.Unmarshal(raw, &lists); err != nil {
		return nil, errors.New("tokenizer: merges are neither \"a b\" strings nor [a, b] pairs")
	}
	pairs := make([][2]string, len(lists))
	for i, l := range lists {
		if len(l) != 2 {
			return nil, fmt.Errorf("tokenizer: merge %d has %d tokens, not 2", i, len(l))
		}
		pairs[i] = [2]string{l[0], l[1]}
	}
	return pairs, nil
}

// component is the "type" of a normalizer, pre-tokenizer or decoder, with
// the fields this package reads.
type component struct {
	Type          string          `json:"type"`
	Normalizers   json.RawMessage `json:"normalizers"`
	Pretokenizers json.RawMessage `json:"pretokenizers"`
	Decoders      json.RawMessage `json:"decoders"`
	Pattern       struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       *bool  `json:"use_regex"`
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// parseNormalizer accepts no normalizer, one of NFC, NFD, NFKC and NFKD, or
// a Sequence holding at most one of them.
func parseNormalizer(raw json.RawMessage) (*norm.Form, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("tokenizer: normalizer: %w", err)
	}
	forms := map[string]norm.Form{
		"NFC": norm.NFC, "NFD": norm.NFD, "NFKC": norm.NFKC, "NFKD": norm.NFKD,
	}
	if f, ok := forms[c.Type]; ok {
		return &f, nil
	}
	if c.Type == "Sequence" {
		var seq []json.RawMessage
		if err := json.Unmarshal(c.Normalizers, &seq); err != nil {
			return nil, fmt.Errorf("tokenizer: normalizer sequence: %w", err)
		}
		switch len(seq) {
		case 0:
			return nil, nil
		case 1:
			return parseNormalizer(seq[0])
		}
	}
	return nil, fmt.Errorf("tokenizer: normalizer %s is not supported", compact(raw))
}

// parsePreTokenizer accepts a Sequence of a Split with the Qwen2 or
// Llama-3 pattern (Isolated, not inverted) and a ByteLevel step without its
// own regex or prefix space.
func parsePreTokenizer(raw json.RawMessage) (splitter, error) {
	unsupported := fmt.Errorf("tokenizer: pre-tokenizer %s is not supported", compact(raw))
	var c component
	if isNull(raw) || json.Unmarshal(raw, &c) != nil || c.Type != "Sequence" {
		return splitter{}, unsupported
	}
	var seq []component
	if err := json.Unmarshal(c.Pretokenizers, &seq); err != nil || len(seq) != 2 {
		return splitter{}, unsupported
	}
	s, bl := seq[0], seq[1]
	if s.Type != "Split" || s.Pattern.Regex == nil || s.Behavior != "Isolated" || s.Invert {
		return splitter{}, unsupported
	}
	if bl.Type != "ByteLevel" || bl.AddPrefixSpace || bl.UseRegex == nil || *bl.UseRegex {
		return splitter{}, unsupported
	}
	switch *s.Pattern.Regex {
	case patternQwen2:
		return splitter{maxDigits: 1}, nil
	case patternLlama:
		return splitter{maxDigits: 3}, nil
	}
	return splitter{}, fmt.Errorf("tokenizer: Split pattern %q is not supported", *s.Pattern.Regex)
}

// checkDecoder accepts a ByteLevel decoder, alone or as the only member of
// a Sequence.
func checkDecoder(raw json.RawMessage) error {
	var c component
	if !isNull(raw) && json.Unmarshal(raw, &c) == nil {
		if c.Type == "ByteLevel" {
			return nil
		}
		var seq []json.RawMessage
		if c.Type == "Sequence" && json.Unmarshal(c.Decoders, &seq) == nil && len(seq) == 1 {
			return checkDecoder(seq[0])
		}
	}
	return fmt.Errorf("tokenizer: decoder %s is not supported (only ByteLevel)", compact(raw))
}

// compact returns raw JSON on one line, shortened for error messages.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil || b.Len() == 0 {
		return "null"
	}
	s := b.String()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// VocabSize returns the number of token ids: one more than the largest id
// of the vocabulary and the added tokens. A model's embedding matrix may
// have more rows than this.
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

// TokenID returns the id of a token. s is an added token's content (such
// as "<|im_end|>") or a vocabulary entry in its byte-level form, where a
// space is "Ġ" (so " world" is "Ġworld").
func (t *Tokenizer) TokenID(s string) (int, bool) {
	if id, ok := t.added.ids[s]; ok {
		return id, true
	}
	id, ok := t.model.vocab[s]
	return id, ok
}

// Token returns the token of id in the form TokenID takes, or "" when id
// is out of range or unused.
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.idToToken) {
		return ""
	}
	return t.idToToken[id]
}

// IsSpecial reports whether id is an added token marked special, such as
// "<|im_end|>" or "<|begin_of_text|>".
func (t *Tokenizer) IsSpecial(id int) bool { return t.special[id] }

// AddedTokens returns the ids of all added tokens, in increasing order.
func (t *Tokenizer) AddedTokens() []int {
	ids := make([]int, 0, len(t.addedText))
	for id := range t.addedText {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// BOS returns the id of bos_token from tokenizer_config.json, or false
// when it is not set (Qwen2 has none).
func (t *Tokenizer) BOS() (int, bool) { return t.bosID, t.bosID >= 0 }

// EOS returns the id of eos_token from tokenizer_config.json, or false
// when it is not set.
func (t *Tokenizer) EOS() (int, bool) { return t.eosID, t.eosID >= 0 }

// EndOfTurn returns the token ids that close an assistant turn in the chat
// template: the text the template writes after an assistant message's
// content up to and including its first added token ("<|im_end|>" for
// Qwen2, "<|eot_id|>" for Llama-3). Without a chat template, or when the
// template writes no added token there, it returns EOS, or nil when there
// is no EOS either.
func (t *Tokenizer) EndOfTurn() []int { return slices.Clone(t.endOfTurn) }
