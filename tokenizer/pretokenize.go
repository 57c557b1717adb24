package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The two Split patterns this package implements by hand. Both come from the
// pre_tokenizer of tokenizer.json; they differ only in how many digits one
// piece may hold (\p{N} for Qwen2, \p{N}{1,3} for Llama-3).
const (
	patternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patternLlama = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// splitter cuts text into pre-tokens exactly as the Split pattern above does
// with the "Isolated" behaviour: every match is one piece, and since the
// pattern matches any character, there are no pieces between matches.
//
// The pattern's alternatives are tried in order at each position (a regex
// alternation takes the first alternative that matches, not the longest):
//
//  1. (?i:'s|'t|'re|'ve|'m|'ll|'d)   English contractions, any case
//  2. [^\r\n\p{L}\p{N}]?\p{L}+       a word, with one leading non-letter
//  3. \p{N}{1,maxDigits}             digits
//  4. ' '?[^\s\p{L}\p{N}]+[\r\n]*    punctuation, with one leading space
//  5. \s*[\r\n]+                     whitespace ending in a line break
//  6. \s+(?!\S)                      whitespace not followed by a non-space
//  7. \s+                            any other whitespace
//
// Invalid UTF-8 bytes are treated like U+FFFD (a symbol, class 4) and stay
// in their piece unchanged.
type splitter struct {
	maxDigits int
}

// decode returns the rune at s[i] and its width. An invalid byte reads as
// utf8.RuneError with width 1.
func decode(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return (r|0x20) >= 'a' && (r|0x20) <= 'z'
	}
	return unicode.IsLetter(r)
}

func isNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.IsSpace(r)
}

// isPunct reports whether r is in [^\s\p{L}\p{N}].
func isPunct(r rune) bool {
	return !isSpace(r) && !isLetter(r) && !isNumber(r)
}

// split calls emit with each piece of s, in order. The pieces concatenate
// to s.
func (sp splitter) split(s string, emit func(piece string)) {
	for i := 0; i < len(s); {
		n := sp.next(s, i)
		emit(s[i : i+n])
		i += n
	}
}

// next returns the length in bytes of the piece that starts at s[i]; it is
// always at least 1.
func (sp splitter) next(s string, i int) int {
	r, w := decode(s, i)

	// 1. Contractions.
	if r == '\'' && i+1 < len(s) {
		if n := contraction(s[i+1:]); n > 0 {
			return 1 + n
		}
	}

	// 2. A word with an optional leading character that is none of
	// \r, \n, a letter or a number.
	if isLetter(r) {
		return w + letters(s, i+w)
	}
	if r != '\r' && r != '\n' && !isNumber(r) && i+w < len(s) {
		if r2, _ := decode(s, i+w); isLetter(r2) {
			return w + letters(s, i+w)
		}
	}

	// 3. Digits, at most maxDigits of them.
	if isNumber(r) {
		n := w
		for k := 1; k < sp.maxDigits && i+n < len(s); k++ {
			r2, w2 := decode(s, i+n)
			if !isNumber(r2) {
				break
			}
			n += w2
		}
		return n
	}

	// 4. Punctuation with an optional leading space, then line breaks.
	if r == ' ' && i+1 < len(s) {
		if r2, _ := decode(s, i+1); isPunct(r2) {
			return 1 + punct(s, i+1)
		}
	}
	if !isSpace(r) {
		return punct(s, i)
	}

	// Whitespace: find the end j of the run and the last line break in it.
	j, lastBreak := i, -1
	for j < len(s) {
		r2, w2 := decode(s, j)
		if !isSpace(r2) {
			break
		}
		if r2 == '\r' || r2 == '\n' {
			lastBreak = j
		}
		j += w2
	}

	// 5. \s*[\r\n]+: the greedy \s* backs off to the last line break.
	if lastBreak >= 0 {
		return lastBreak + 1 - i
	}

	// 6. \s+(?!\S): the whole run at the end of the text; otherwise the run
	// without its last character, which is then followed by a space.
	if j == len(s) {
		return j - i
	}
	_, lw := utf8.DecodeLastRuneInString(s[i:j])
	if j-lw > i {
		return j - lw - i
	}

	// 7. \s+: a single space before a non-space.
	return j - i
}

// contraction returns the length of the contraction suffix ('s, 't, 're,
// 've, 'm, 'll, 'd in any case) at the start of s, without the apostrophe,
// or 0.
func contraction(s string) int {
	r, w := decode(s, 0)
	switch foldASCII(r) {
	case 's', 't', 'm', 'd':
		return w
	case 'r', 'v', 'l':
		if w >= len(s) {
			return 0
		}
		r2, w2 := decode(s, w)
		want := rune('e')
		if foldASCII(r) == 'l' {
			want = 'l'
		}
		if foldASCII(r2) == want {
			return w + w2
		}
	}
	return 0
}

// foldASCII maps r to the ASCII lower-case letter it equals under Unicode
// simple case folding, as (?i) does in both Oniguruma and regexp2: 'S' and
// 'ſ' (U+017F) fold to 's'. Other runes are returned unchanged; of the
// letters in the contractions, only s has a non-ASCII fold.
func foldASCII(r rune) rune {
	switch {
	case r >= 'A' && r <= 'Z':
		return r + 'a' - 'A'
	case r == 0x017F:
		return 's'
	}
	return r
}

// letters returns the length of the run of letters at s[i:].
func letters(s string, i int) int {
	j := i
	for j < len(s) {
		r, w := decode(s, j)
		if !isLetter(r) {
			break
		}
		j += w
	}
	return j - i
}

// punct returns the length of [^\s\p{L}\p{N}]+[\r\n]* at s[i:]; s[i] must
// start a punctuation rune.
func punct(s string, i int) int {
	j := i
	for j < len(s) {
		r, w := decode(s, j)
		if !isPunct(r) {
			break
		}
		j += w
	}
	for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
		j++
	}
	return j - i
}
