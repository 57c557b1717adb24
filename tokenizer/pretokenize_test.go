package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2/v2"
)

// oracleSplit cuts s with the regular expression itself, through regexp2
// (a backtracking engine with .NET semantics), the slow but obvious way.
func oracleSplit(t *testing.T, pattern, s string) []string {
	t.Helper()
	re := regexp2.MustCompile(pattern)
	idx, err := re.FindAllStringIndex(s, -1)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	prev := 0
	for _, m := range idx {
		if m[0] > prev { // text between matches (never happens for these patterns)
			out = append(out, s[prev:m[0]])
		}
		out = append(out, s[m[0]:m[1]])
		prev = m[1]
	}
	if prev < len(s) {
		out = append(out, s[prev:])
	}
	return out
}

func handSplit(sp splitter, s string) []string {
	var out []string
	sp.split(s, func(p string) { out = append(out, p) })
	return out
}

// alphabet is drawn from by randomText: every character class the patterns
// tell apart, ASCII and not.
var alphabet = []string{
	"a", "b", "Z", "s", "t", "r", "e", "v", "m", "l", "d", "S", "T", "R", "E", "V", "M", "L", "D",
	"'", "'", "'", "0", "1", "9", " ", " ", " ", " ", "\t", "\n", "\n", "\r", "\v", "\f",
	".", ",", "!", "?", "-", "+", "(", ")", "\"", "_", "#", "$",
	"é", "ß", "ſ", "\u212a", "Ж", "中", "文", "の", "한", "ǅ", "ʰ", // letters: Ll, Lu, Lo, Lt, Lm
	"٣", "²", "Ⅻ", "½", "१", // numbers: Nd, No, Nl
	"\u0301", "\u0903", // marks (neither letter nor number)
	"\u00a0", "\u3000", "\u2028", "\u0085", "\u200b", // spaces and a non-space
	"。", "，", "€", "😀", "\ufffd",
}

func randomText(r *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// TestSplitterMatchesRegex proves the hand-written splitter equal to the
// Split patterns on large random input and on edge cases.
func TestSplitterMatchesRegex(t *testing.T) {
	edge := []string{
		"", " ", "  ", "\n", " \n ", "a", "'s", "'S", "'re", "'RE", "'Ll", "'x", "'", "''s",
		"don't", "I'M", "  hello", "hello  ", "hello  world", "a \n\n b", "x\r\n\r\ny",
		"3333+777?", "12345678", "٣٣٣٣", ".Hello", " .Hello", "!!\n\nx", " ?\r\n", "\t\tx",
		" \u3000x", "x \u00a0", "中文 text", "\u0301a", "a\u0301b", "\u200b\u200b",
		"it'ſ", "'ſt", "'\u212a",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		pattern string
		sp      splitter
	}{
		{"qwen2", patternQwen2, splitter{maxDigits: 1}},
		{"llama3", patternLlama, splitter{maxDigits: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range edge {
				if got, want := handSplit(tc.sp, s), oracleSplit(t, tc.pattern, s); !slices.Equal(got, want) {
					t.Errorf("split(%q)\n got %q\nwant %q", s, got, want)
				}
			}
			total := 0
			for i := 0; i < 1000; i++ {
				s := randomText(r, 1+r.IntN(2000))
				total += len(s)
				got, want := handSplit(tc.sp, s), oracleSplit(t, tc.pattern, s)
				if !slices.Equal(got, want) {
					for k := range min(len(got), len(want)) {
						if got[k] != want[k] {
							t.Fatalf("random text: first difference at piece %d: got %q, want %q (text %q)", k, got[k], want[k], s)
						}
					}
					t.Fatalf("random text: %d pieces, want %d", len(got), len(want))
				}
			}
			t.Logf("%d random bytes split identically", total)
		})
	}
}

func TestPreTokenizeDigits(t *testing.T) {
	q, l := testTokenizers(t)
	const text = "What is 3333+777?"
	for _, tc := range []struct {
		name string
		tk   *Tokenizer
		want []string
	}{
		{"qwen2", q, []string{"What", " is", " ", "3", "3", "3", "3", "+", "7", "7", "7", "?"}},
		{"llama3", l, []string{"What", " is", " ", "333", "3", "+", "777", "?"}},
	} {
		if got := tc.tk.PreTokenize(text); !slices.Equal(got, tc.want) {
			t.Errorf("%s: PreTokenize(%q) = %q, want %q", tc.name, text, got, tc.want)
		}
	}
}
