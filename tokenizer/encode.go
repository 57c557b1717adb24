package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Encode returns the token ids of text as Hugging Face
// encode(text, add_special_tokens=False) does: added tokens written in the
// text (such as "<|im_end|>") become their ids, and the text between them
// is normalized, pre-tokenized and BPE-encoded. No BOS or EOS is added.
//
// Do not use Encode for text that comes from users; see EncodePlain.
func (t *Tokenizer) Encode(text string) []int {
	return t.encodeSegments([]segment{{text: text, control: true}})
}

// EncodePlain returns the token ids of text without recognising added
// tokens: "<|im_end|>" in text is encoded as the characters it is made of.
// Use it for user content, which must never turn into control tokens.
func (t *Tokenizer) EncodePlain(text string) []int {
	return t.appendText(make([]int, 0, len(text)/3+1), text)
}

// segment is a piece of text to encode: control text may contain added
// tokens; other text never produces them.
type segment struct {
	text    string
	control bool
}

// encodeSegments encodes the concatenation of segs, recognising added
// tokens only inside control segments. Plain text runs across segment
// boundaries up to the next added token, so the result equals Encode of the
// concatenation whenever the plain segments hold no added token.
func (t *Tokenizer) encodeSegments(segs []segment) []int {
	n := 0
	for _, s := range segs {
		n += len(s.text)
	}
	ids := make([]int, 0, n/3+1)

	var pending strings.Builder // plain text not yet encoded
	for _, s := range segs {
		if !s.control {
			pending.WriteString(s.text)
			continue
		}
		start := 0
		for start < len(s.text) {
			m, ok := t.added.find(s.text, start)
			if !ok {
				break
			}
			pending.WriteString(s.text[start:m.start])
			ids = t.appendText(ids, pending.String())
			pending.Reset()
			ids = append(ids, m.id)
			start = m.end
		}
		pending.WriteString(s.text[start:])
	}
	return t.appendText(ids, pending.String())
}

// appendText appends the ids of text that holds no added tokens:
// normalizer, pre-tokenizer, then BPE on each piece.
func (t *Tokenizer) appendText(ids []int, text string) []int {
	if text == "" {
		return ids
	}
	if t.normalize != nil && !t.normalize.IsNormalString(text) {
		text = t.normalize.String(text)
	}
	for i := 0; i < len(text); {
		n := t.split.next(text, i)
		ids = t.model.appendPiece(ids, text[i:i+n])
		i += n
	}
	return ids
}

// PreTokenize returns the pieces that text (holding no added tokens) is cut
// into after the normalizer and before BPE, as raw text.
func (t *Tokenizer) PreTokenize(text string) []string {
	if t.normalize != nil && !t.normalize.IsNormalString(text) {
		text = t.normalize.String(text)
	}
	var pieces []string
	t.split.split(text, func(p string) { pieces = append(pieces, p) })
	return pieces
}

// Decode returns the text of ids: the bytes that the byte-level tokens
// stand for, and the content of added tokens (special ones included). Ids
// out of range are skipped. The result may be invalid UTF-8 when ids end in
// the middle of a character; decoding the ids of a whole text gives back
// that text after the normalizer.
func (t *Tokenizer) Decode(ids []int) string {
	buf := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(t.idToToken) {
			continue
		}
		if s, ok := t.addedText[id]; ok {
			buf = append(buf, s...)
			continue
		}
		buf = t.model.bytes.appendDecoded(buf, t.idToToken[id])
	}
	return string(buf)
}

// addedMatcher finds added tokens in text, leftmost first and longest
// among those that start at the same place, as Hugging Face does.
type addedMatcher struct {
	root [256]*trieNode
	ids  map[string]int // content -> id
}

type trieNode struct {
	next map[byte]*trieNode
	tok  *addedTokenJSON // token ending here, or nil
}

// match is an added token found in text: text[start:end] is replaced by
// id; the span includes whitespace taken by lstrip and rstrip.
type match struct {
	start, end, id int
}

func newAddedMatcher(tokens []addedTokenJSON) *addedMatcher {
	m := &addedMatcher{ids: make(map[string]int, len(tokens))}
	for i := range tokens {
		a := &tokens[i]
		m.ids[a.Content] = a.ID
		n := m.root[a.Content[0]]
		if n == nil {
			n = &trieNode{}
			m.root[a.Content[0]] = n
		}
		for j := 1; j < len(a.Content); j++ {
			c := a.Content[j]
			if n.next == nil {
				n.next = make(map[byte]*trieNode)
			}
			child := n.next[c]
			if child == nil {
				child = &trieNode{}
				n.next[c] = child
			}
			n = child
		}
		n.tok = a
	}
	return m
}

// find returns the first added token in text at or after from.
func (m *addedMatcher) find(text string, from int) (match, bool) {
	for i := from; i < len(text); i++ {
		n := m.root[text[i]]
		if n == nil {
			continue
		}
		// Walk the trie as far as the text allows; keep the longest token.
		var best *addedTokenJSON
		bestEnd := 0
		for j := i + 1; ; j++ {
			if n.tok != nil && m.wordOK(n.tok, text, i, j) {
				best, bestEnd = n.tok, j
			}
			if j >= len(text) || n.next == nil {
				break
			}
			if n = n.next[text[j]]; n == nil {
				break
			}
		}
		if best == nil {
			continue
		}
		mt := match{start: i, end: bestEnd, id: best.ID}
		if best.LStrip {
			mt.start = from + len(strings.TrimRightFunc(text[from:i], unicode.IsSpace))
		}
		if best.RStrip {
			mt.end = len(text) - len(strings.TrimLeftFunc(text[bestEnd:], unicode.IsSpace))
		}
		return mt, true
	}
	return match{}, false
}

// wordOK applies single_word: such a token matches only when it is not
// part of a longer word.
func (m *addedMatcher) wordOK(a *addedTokenJSON, text string, start, end int) bool {
	if !a.SingleWord {
		return true
	}
	isWord := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }
	if r, _ := utf8.DecodeLastRuneInString(text[:start]); start > 0 && isWord(r) {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(text[end:]); end < len(text) && isWord(r) {
		return false
	}
	return true
}

// containsAdded reports whether s holds the content of any added token.
func (m *addedMatcher) containsAdded(s string) bool {
	_, ok := m.find(s, 0)
	return ok
}
