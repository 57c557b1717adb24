package tokenizer

import "unicode/utf8"

// byteLevel is the GPT-2 byte-to-unicode table used by the ByteLevel
// pre-tokenizer and decoder: every byte maps to a printable rune, so that a
// BPE vocabulary over runes covers every byte string.
//
// Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves;
// the other 68 bytes map to U+0100, U+0101, ... in byte order.
type byteLevel struct {
	encR   [256]rune  // byte -> its rune
	decLow [324]int16 // rune (all of them are < 324) -> byte, or -1
}

func newByteLevel() *byteLevel {
	b := &byteLevel{}
	for i := range b.decLow {
		b.decLow[i] = -1
	}
	n := 0
	for c := 0; c < 256; c++ {
		r := rune(c)
		printable := (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)
		if !printable {
			r = rune(256 + n)
			n++
		}
		b.encR[c] = r
		b.decLow[r] = int16(c)
	}
	return b
}

// appendEncoded appends the byte-level form of s to dst.
func (b *byteLevel) appendEncoded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = utf8.AppendRune(dst, b.encR[s[i]])
	}
	return dst
}

// appendDecoded appends the bytes that the byte-level string tok stands for.
// Runes outside the table are copied as UTF-8, as the Hugging Face ByteLevel
// decoder does.
func (b *byteLevel) appendDecoded(dst []byte, tok string) []byte {
	for _, r := range tok {
		if r >= 0 && int(r) < len(b.decLow) && b.decLow[r] >= 0 {
			dst = append(dst, byte(b.decLow[r]))
			continue
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}
