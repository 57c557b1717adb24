package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// The real tokenizers in testdata, each loaded once.
var (
	loadOnce sync.Once
	qwen2    *Tokenizer
	llama3   *Tokenizer
	loadErr  error
)

func testTokenizers(t testing.TB) (q, l *Tokenizer) {
	t.Helper()
	loadOnce.Do(func() {
		qwen2, loadErr = Load("testdata/qwen2")
		if loadErr == nil {
			llama3, loadErr = Load("testdata/llama3.1")
		}
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return qwen2, llama3
}

type tokCase struct {
	ID    int    `json:"id"`
	Text  string `json:"text"`
	Qwen2 []int  `json:"qwen2"`
	Llama []int  `json:"llama3.1"`
	Note  string `json:"note"`
}

func readCases(t testing.TB) []tokCase {
	t.Helper()
	f, err := os.Open("testdata/cases.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []tokCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c tokCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestCases(t *testing.T) {
	q, l := testTokenizers(t)
	cases := readCases(t)
	if len(cases) != 66 {
		t.Fatalf("got %d cases, want 66", len(cases))
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.ID), func(t *testing.T) {
			if got := q.Encode(c.Text); !slices.Equal(got, c.Qwen2) {
				t.Errorf("qwen2 Encode(%q)\n got %v\nwant %v", c.Text, got, c.Qwen2)
			}
			if got := l.Encode(c.Text); !slices.Equal(got, c.Llama) {
				t.Errorf("llama3.1 Encode(%q)\n got %v\nwant %v", c.Text, got, c.Llama)
			}
			for name, tk := range map[string]*Tokenizer{"qwen2": q, "llama3.1": l} {
				want := c.Text
				if tk.normalize != nil {
					want = norm.NFC.String(want)
				}
				if got := tk.Decode(tk.Encode(c.Text)); got != want {
					t.Errorf("%s Decode(Encode(%q)) = %q", name, c.Text, got)
				}
			}
		})
	}
}

func mustGunzip(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if data, err = gunzip(data); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return data
}

func TestAccessors(t *testing.T) {
	q, l := testTokenizers(t)
	for _, tc := range []struct {
		name       string
		tk         *Tokenizer
		vocab      int
		bos, eos   int
		endOfTurn  []int
		hello      int // id of "Ġhello"
		specialTok string
		specialID  int
	}{
		{"qwen2", q, 151646, -1, 151645, []int{151645}, 23811, "<|im_start|>", 151644},
		{"llama3", l, 128256, 128000, 128009, []int{128009}, 24748, "<|eot_id|>", 128009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.tk.VocabSize(); got != tc.vocab {
				t.Errorf("VocabSize = %d, want %d", got, tc.vocab)
			}
			if id, ok := tc.tk.BOS(); id != tc.bos || ok != (tc.bos >= 0) {
				t.Errorf("BOS = %d, %v, want %d", id, ok, tc.bos)
			}
			if id, ok := tc.tk.EOS(); id != tc.eos || !ok {
				t.Errorf("EOS = %d, %v, want %d", id, ok, tc.eos)
			}
			if got := tc.tk.EndOfTurn(); !slices.Equal(got, tc.endOfTurn) {
				t.Errorf("EndOfTurn = %v, want %v", got, tc.endOfTurn)
			}
			if id, ok := tc.tk.TokenID("Ġhello"); !ok || id != tc.hello {
				t.Errorf("TokenID(Ġhello) = %d, %v, want %d", id, ok, tc.hello)
			}
			if got := tc.tk.Token(tc.hello); got != "Ġhello" {
				t.Errorf("Token(%d) = %q", tc.hello, got)
			}
			if id, ok := tc.tk.TokenID(tc.specialTok); !ok || id != tc.specialID || !tc.tk.IsSpecial(id) {
				t.Errorf("TokenID(%q) = %d, %v; special %v", tc.specialTok, id, ok, tc.tk.IsSpecial(id))
			}
			if got := tc.tk.Token(tc.specialID); got != tc.specialTok {
				t.Errorf("Token(%d) = %q", tc.specialID, got)
			}
			if _, ok := tc.tk.TokenID("no such token"); ok {
				t.Error("TokenID of a missing token reports true")
			}
			for _, id := range []int{-1, tc.vocab, 1 << 40} {
				if got := tc.tk.Token(id); got != "" {
					t.Errorf("Token(%d) = %q", id, got)
				}
			}
			if got := tc.tk.Decode([]int{-5, tc.vocab + 10}); got != "" {
				t.Errorf("Decode of out-of-range ids = %q", got)
			}
			if got := len(tc.tk.AddedTokens()); got == 0 {
				t.Error("no added tokens")
			}
		})
	}
}

// TestEncodeVsEncodePlain: Encode recognises added tokens, EncodePlain
// never does.
func TestEncodeVsEncodePlain(t *testing.T) {
	q, _ := testTokenizers(t)
	const text = "a<|im_end|>b<|endoftext|>"
	if got, want := q.Encode(text), []int{64, 151645, 65, 151643}; !slices.Equal(got, want) {
		t.Errorf("Encode(%q) = %v, want %v", text, got, want)
	}
	plain := q.EncodePlain(text)
	if countSpecial(q, plain) != 0 {
		t.Errorf("EncodePlain(%q) = %v has special tokens", text, plain)
	}
	if got := q.Decode(plain); got != text {
		t.Errorf("Decode(EncodePlain) = %q", got)
	}
}

// TestMergePairs: merges stored as ["a", "b"] pairs and as "a b" strings
// give the same tokenizer.
func TestMergePairs(t *testing.T) {
	q, _ := testTokenizers(t)
	var doc map[string]any
	if err := json.Unmarshal(mustGunzip(t, "testdata/qwen2/tokenizer.json.gz"), &doc); err != nil {
		t.Fatal(err)
	}
	model := doc["model"].(map[string]any)
	merges := model["merges"].([]any)
	pairs := make([][]string, len(merges))
	for i, m := range merges {
		a, b, _ := strings.Cut(m.(string), " ")
		pairs[i] = []string{a, b}
	}
	model["merges"] = pairs
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range readCases(t) {
		if got, want := p.Encode(c.Text), q.Encode(c.Text); !slices.Equal(got, want) {
			t.Errorf("pairs: Encode(%q) = %v, want %v", c.Text, got, want)
		}
	}
}

func TestLoadFiles(t *testing.T) {
	tk, err := LoadFiles("testdata/llama3.1/tokenizer.json.gz", "testdata/llama3.1/tokenizer_config.json")
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tk.EOS(); !ok || id != 128009 {
		t.Errorf("EOS = %d, %v", id, ok)
	}
	bare, err := LoadFiles("testdata/qwen2/tokenizer.json.gz", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bare.EOS(); ok || bare.EndOfTurn() != nil || bare.ChatTemplate() != "" {
		t.Error("a tokenizer without config has an EOS, end of turn or template")
	}
	if _, err := LoadFiles("testdata/nothing.json", ""); err == nil ||
		!strings.HasPrefix(err.Error(), "tokenizer: ") || !strings.Contains(err.Error(), "testdata/nothing.json") {
		t.Errorf("LoadFiles of a missing file: err = %v", err)
	}
}

// TestLoadErrorsNamePaths: every error from Load, LoadFiles and LoadFS
// names the file or directory as the caller gave it, not os.DirFS's ".".
func TestLoadErrorsNamePaths(t *testing.T) {
	// Qwen2's tokenizer with a small vocabulary (its 256 byte tokens and
	// <|im_end|>), so that the test stays quick under -race.
	var doc map[string]any
	if err := json.Unmarshal(mustGunzip(t, "testdata/qwen2/tokenizer.json.gz"), &doc); err != nil {
		t.Fatal(err)
	}
	model := doc["model"].(map[string]any)
	vocab := map[string]any{}
	for tok, id := range model["vocab"].(map[string]any) {
		if id.(float64) < 256 {
			vocab[tok] = id
		}
	}
	model["vocab"], model["merges"] = vocab, []any{}
	doc["added_tokens"] = []any{map[string]any{"id": 256, "content": "<|im_end|>", "special": true}}
	tj, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(tj, nil); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tj)
	zw.Close()

	dir := filepath.Join(t.TempDir(), "models", "x")
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	reset := func() {
		t.Helper()
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	j := func(name string) string { return filepath.Join(dir, name) }

	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string // the whole message, or its start when it ends in "..."
	}{
		{"empty dir", nil, "tokenizer: no tokenizer.json or tokenizer.json.gz in " + dir},
		{"truncated json", map[string][]byte{"tokenizer.json": tj[:len(tj)/2]},
			"tokenizer: " + j("tokenizer.json") + ": unexpected end of JSON input"},
		{"truncated gzip", map[string][]byte{"tokenizer.json.gz": gz.Bytes()[:gz.Len()/2]},
			"tokenizer: " + j("tokenizer.json.gz") + ": unexpected EOF"},
		{"not gzip", map[string][]byte{"tokenizer.json.gz": tj[:100]},
			"tokenizer: " + j("tokenizer.json.gz") + ": gzip: invalid header"},
		{"unsupported model", map[string][]byte{"tokenizer.json": []byte(`{"model": {"type": "Unigram"}}`)},
			"tokenizer: " + j("tokenizer.json") + `: model type "Unigram" is not supported (only BPE)`},
		{"bad config", map[string][]byte{"tokenizer.json.gz": gz.Bytes(), "tokenizer_config.json": []byte(`{"eos_token": "<|nope|>"}`)},
			"tokenizer: " + j("tokenizer_config.json") + `: eos_token "<|nope|>" is not in the vocabulary`},
		{"truncated config", map[string][]byte{"tokenizer.json.gz": gz.Bytes(), "tokenizer_config.json": []byte(`{"eos`)},
			"tokenizer: " + j("tokenizer_config.json") + ": unexpected end of JSON input"},
		{"bad template file", map[string][]byte{"tokenizer.json.gz": gz.Bytes(), "chat_template.jinja": []byte("{% for %}")},
			"tokenizer: " + j("chat_template.jinja") + ": chat template: ..."},
		{"config is a directory", map[string][]byte{"tokenizer.json.gz": gz.Bytes(), "tokenizer_config.json/x": nil},
			"tokenizer: read " + j("tokenizer_config.json") + ": ..."},
	} {
		reset()
		for name, data := range tc.files {
			write(name, data)
		}
		_, err := Load(dir)
		if err == nil {
			t.Errorf("%s: Load: no error", tc.name)
			continue
		}
		if prefix, ok := strings.CutSuffix(tc.want, "..."); ok {
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("%s: Load: err = %q, want %q", tc.name, err, tc.want)
			}
		} else if err.Error() != tc.want {
			t.Errorf("%s: Load: err = %q\nwant %q", tc.name, err, tc.want)
		}
	}

	// LoadFS names paths in its file system; LoadFiles the paths given.
	reset()
	write("tokenizer.json", tj[:len(tj)/2])
	_, err = LoadFS(os.DirFS(filepath.Dir(dir)), "x")
	if want := "tokenizer: x/tokenizer.json: unexpected end of JSON input"; err == nil || err.Error() != want {
		t.Errorf("LoadFS: err = %v, want %q", err, want)
	}
	_, err = LoadFiles(j("tokenizer.json"), "")
	if want := "tokenizer: " + j("tokenizer.json") + ": unexpected end of JSON input"; err == nil || err.Error() != want {
		t.Errorf("LoadFiles: err = %v, want %q", err, want)
	}
	_, err = LoadFiles("testdata/qwen2/tokenizer.json.gz", j("missing_config.json"))
	if err == nil || !strings.Contains(err.Error(), j("missing_config.json")) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFiles with a missing config: err = %v", err)
	}
	var syntax *json.SyntaxError
	if _, err := Parse([]byte("{,"), nil); err == nil || !errors.As(err, &syntax) ||
		!strings.HasPrefix(err.Error(), "tokenizer: tokenizer.json: ") {
		t.Errorf("Parse of bad JSON: err = %v, want a wrapped *json.SyntaxError naming tokenizer.json", err)
	}
}

func TestQwen2Demo(t *testing.T) {
	q, _ := testTokenizers(t)
	d, err := Qwen2Demo()
	if err != nil {
		t.Fatal(err)
	}
	const text = "Hello, 世界! <|im_end|>"
	if got, want := d.Encode(text), q.Encode(text); !slices.Equal(got, want) {
		t.Errorf("Qwen2Demo Encode = %v, want %v", got, want)
	}
	if d.ChatTemplate() == "" {
		t.Error("Qwen2Demo has no chat template")
	}
}

func TestConfigTokenObjects(t *testing.T) {
	tj := mustGunzip(t, "testdata/qwen2/tokenizer.json.gz")
	cfg := []byte(`{"bos_token": {"content": "<|endoftext|>", "lstrip": false}, "eos_token": {"__type": "AddedToken", "content": "<|im_end|>"},
		"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "{{ messages[0].content }}!"}]}`)
	tk, err := Parse(tj, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := tk.BOS(); id != 151643 {
		t.Errorf("BOS = %d", id)
	}
	if id, _ := tk.EOS(); id != 151645 {
		t.Errorf("EOS = %d", id)
	}
	if got, _ := tk.ApplyChatTemplate([]Message{{Role: "user", Content: "hi"}}, false); got != "hi!" {
		t.Errorf("named default template rendered %q", got)
	}
	if got, want := tk.EndOfTurn(), []int{151645}; !slices.Equal(got, want) {
		t.Errorf("EndOfTurn falls back to EOS: got %v, want %v", got, want)
	}

	for _, bad := range []string{`{"bos_token": 3}`, `{"eos_token": "<|nope|>"}`, `{"chat_template": 7}`, `[`} {
		if _, err := Parse(tj, []byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("config %s: err = %v", bad, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		``, `{}`, `{"model": {"type": "Unigram", "vocab": {"a": 0}}}`,
		`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}, "pre_tokenizer": null}`,
		`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}`,
		`{"model": {"type": "BPE", "vocab": {"a": 1099511627776}, "merges": []}}`,
		`{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}}`,
	} {
		if _, err := Parse([]byte(bad), nil); err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("Parse(%q): err = %v", bad, err)
		}
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") {
		t.Errorf("Load(empty dir): err = %v", err)
	}
}

// TestMergeHeapEqualsScan: the two merge loops agree on long words.
func TestMergeHeapEqualsScan(t *testing.T) {
	q, l := testTokenizers(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, tk := range []*Tokenizer{q, l} {
		m := tk.model
		// Random text, and runs of one or two characters, where many
		// candidates share a rank.
		var pieces []string
		for i := 0; i < 300; i++ {
			pieces = append(pieces, randomText(r, 1+r.IntN(300)))
		}
		for _, unit := range []string{"a", " ", "\n", "!", "ab", "中", "\U000F0001"} {
			for _, n := range []int{49, 64, 100, 257} {
				pieces = append(pieces, strings.Repeat(unit, n))
			}
		}
		for _, piece := range pieces {
			var syms []int
			for j := 0; j < len(piece); j++ {
				syms = append(syms, m.byteIDs[piece[j]])
			}
			a := m.mergeScan(slices.Clone(syms))
			b := m.mergeHeap(slices.Clone(syms))
			if !slices.Equal(a, b) {
				t.Fatalf("piece %q: scan %v, heap %v", piece, a, b)
			}
		}
	}
}

// TestConcurrentEncode runs Encode from many goroutines (run with -race).
func TestConcurrentEncode(t *testing.T) {
	q, _ := testTokenizers(t)
	cases := readCases(t)
	want := make([][]int, len(cases))
	for i, c := range cases {
		want[i] = q.Encode(c.Text)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for k := 0; k < 200; k++ {
				i := r.IntN(len(cases))
				if got := q.Encode(cases[i].Text); !slices.Equal(got, want[i]) {
					t.Errorf("concurrent Encode(%q) = %v", cases[i].Text, got)
					return
				}
				q.EncodePlain(randomText(r, 200))
			}
		}()
	}
	wg.Wait()
}

func TestRoundTrip(t *testing.T) {
	q, l := testTokenizers(t)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 200; i++ {
		s := randomText(r, r.IntN(500))
		if r.IntN(4) == 0 {
			s += "<|im_end|><|eot_id|>"
		}
		for _, tk := range []*Tokenizer{q, l} {
			want := s
			if tk.normalize != nil {
				want = norm.NFC.String(s)
			}
			if got := tk.Decode(tk.Encode(s)); got != want {
				t.Fatalf("Decode(Encode(%q)) = %q", s, got)
			}
			if got := tk.Decode(tk.EncodePlain(s)); got != want {
				t.Fatalf("Decode(EncodePlain(%q)) = %q", s, got)
			}
		}
	}
}

// FuzzEncodeDecode: any byte string encodes without panic and decodes back
// to itself after the normalizer, with both tokenizers.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range []string{"", "Hello world", "What is 3333+777?", "e\u0301", "中文 <|im_end|>", "\xff\xfe", "it'S  \r\n\t x"} {
		f.Add(s)
	}
	q, l := testTokenizers(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tk := range []*Tokenizer{q, l} {
			want := s
			if tk.normalize != nil {
				want = tk.normalize.String(s)
			}
			if got := tk.Decode(tk.Encode(s)); got != want {
				t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
			}
			if got := tk.Decode(tk.EncodePlain(s)); got != want {
				t.Fatalf("Decode(EncodePlain(%q)) = %q, want %q", s, got, want)
			}
			if _, err := tk.EncodeChat([]Message{{Role: "user", Content: s}}, true); err != nil {
				t.Fatalf("EncodeChat(%q): %v", s, err)
			}
		}
	})
}

// benchText is about 1 MB of mixed English and Chinese text.
func benchText() string {
	const en = "As an LLM data collection expert, you are recruiting users to complete high-quality data collection tasks. " +
		"Based on the current user profile: Gender: Female; Age: 30-39; Education: Ph.D.; Major: Natural Sciences. "
	const zh = "作为一名大模型数据采集专家，你正在招募用户完成高质量的数据采集任务。根据当前用户画像：性别：女；年龄：30-39岁。"
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		// Vary the numbers so that the cache does not see only repeats.
		fmt.Fprintf(&b, "%s Task %d costs $%d.%02d. %s\n", en, i, i*7%1000, i%100, zh)
	}
	return b.String()
}

func BenchmarkEncode1MB(b *testing.B) {
	q, l := testTokenizers(b)
	text := benchText()
	for _, tc := range []struct {
		name string
		tk   *Tokenizer
	}{{"qwen2", q}, {"llama3", l}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tc.tk.Encode(text)
			}
		})
	}
}

// TestEncodeLongRuns encodes 128 KB texts that are one pre-token each, or
// long runs of one character, which the BPE must handle in O(n log n):
// with a quadratic merge loop (some 10^10 pair look-ups each) this test
// would not finish. BenchmarkEncodeLongWord measures the speed.
func TestEncodeLongRuns(t *testing.T) {
	q, l := testTokenizers(t)
	for _, unit := range []string{"a", "ab", " ", "\n", "!", "<", "中"} {
		text := strings.Repeat(unit, (1<<17)/len(unit))
		for name, tk := range map[string]*Tokenizer{"qwen2": q, "llama3": l} {
			ids := tk.Encode(text)
			if got := tk.Decode(ids); got != text {
				t.Errorf("%s: %d×%q does not round-trip (%d bytes back)", name, len(text)/len(unit), unit, len(got))
			}
			if len(ids) == 0 || len(ids) > len(text)/2 {
				t.Errorf("%s: %d×%q gives %d tokens", name, len(text)/len(unit), unit, len(ids))
			}
		}
	}
}

// BenchmarkEncodeLongWord encodes 1 MB without a space: one pre-token
// that goes through the heap-based merge loop.
func BenchmarkEncodeLongWord(b *testing.B) {
	q, _ := testTokenizers(b)
	for name, unit := range map[string]string{"a": "a", "ab": "ab", "spaces": " "} {
		text := strings.Repeat(unit, (1<<20)/len(unit))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				q.Encode(text)
			}
		})
	}
}

// BenchmarkEncode1MBCold encodes with an empty cache each time.
func BenchmarkEncode1MBCold(b *testing.B) {
	q, _ := testTokenizers(b)
	text := benchText()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		q.model.cache = newPieceCache()
		q.Encode(text)
	}
}

// BenchmarkEncodeChatPrompt encodes a chat prompt of about 300 tokens, as
// the scorer does for each request.
func BenchmarkEncodeChatPrompt(b *testing.B) {
	q, _ := testTokenizers(b)
	user := strings.Repeat("Gender: Female; Age: 30-39; Education: Ph.D.; Major: Natural Sciences. 标注研究生水平物理题答案的正确性。 ", 10)
	msgs := []Message{{Role: "user", Content: user}}
	ids, err := q.EncodeChat(msgs, true)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := q.EncodeChat(msgs, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ids)), "tokens")
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load("testdata/llama3.1"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLoadNotFound(t *testing.T) {
	_, err := Load(t.TempDir())
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("empty directory: %v, want ErrNotFound", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("{"), 0o644)
	if _, err := Load(dir); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("broken tokenizer.json: %v, want another error", err)
	}
}
