package tokenizer

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ardanlabs/jinja"
)

// Message is one chat message: its role ("system", "user", "assistant")
// and its content.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatOption changes how a chat template is rendered.
type ChatOption func(*chatOptions)

type chatOptions struct {
	date *time.Time
	vars map[string]any
}

// WithDate sets the date the template may print: the variable date_string
// ("26 Jul 2024" style, read by Llama-3.1's template) and the result of
// strftime_now. Without it, Llama-3.1's template prints its own default
// date and strftime_now reads the clock.
func WithDate(d time.Time) ChatOption {
	return func(o *chatOptions) { o.date = &d }
}

// WithVar sets a template variable. value may be nil, a bool, int, int64,
// float64, string, []any or map[string]any.
func WithVar(name string, value any) ChatOption {
	return func(o *chatOptions) {
		if o.vars == nil {
			o.vars = make(map[string]any)
		}
		o.vars[name] = value
	}
}

// chatTemplate is a compiled chat template.
type chatTemplate struct {
	src  string
	tmpl *jinja.Template
}

// SetChatTemplate replaces the chat template with src, a Jinja template in
// the format of tokenizer_config.json's chat_template. It is not safe to
// call while other goroutines use t.
func (t *Tokenizer) SetChatTemplate(src string) error {
	tmpl, err := compileTemplate(src)
	if err != nil {
		return err
	}
	t.chat = &chatTemplate{src: src, tmpl: tmpl}
	t.endOfTurn = t.findEndOfTurn()
	return nil
}

func compileTemplate(src string) (tmpl *jinja.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			tmpl, err = nil, fmt.Errorf("tokenizer: chat template: %v", r)
		}
	}()
	tmpl, err = jinja.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: chat template: %w", err)
	}
	return tmpl, nil
}

// ChatTemplate returns the source of the chat template, or "" when there
// is none.
func (t *Tokenizer) ChatTemplate() string {
	if t.chat == nil {
		return ""
	}
	return t.chat.src
}

// ApplyChatTemplate renders messages with the checkpoint's chat template,
// as Hugging Face apply_chat_template(messages, tokenize=False) does. The
// template sees messages (each with role and content, in that order),
// add_generation_prompt, bos_token and eos_token (when set), and what opts
// add. With addGenerationPrompt the text ends with the header that opens
// the assistant's turn.
//
// It returns an error when there is no template or the template fails,
// for example through raise_exception.
func (t *Tokenizer) ApplyChatTemplate(messages []Message, addGenerationPrompt bool,
	opts ...ChatOption) (string, error) {

	contents := make([]string, len(messages))
	for i, m := range messages {
		contents[i] = m.Content
	}
	return t.render(messages, contents, addGenerationPrompt, opts)
}

// render renders messages with their contents replaced by contents.
func (t *Tokenizer) render(messages []Message, contents []string, genPrompt bool,
	opts []ChatOption) (out string, err error) {

	if t.chat == nil {
		return "", errors.New("tokenizer: the checkpoint has no chat template")
	}
	var o chatOptions
	for _, opt := range opts {
		opt(&o)
	}

	msgs := make([]jinja.Value, len(messages))
	for i, m := range messages {
		d := jinja.NewDict()
		d.AsDict().Set("role", jinja.NewString(m.Role))
		d.AsDict().Set("content", jinja.NewString(contents[i]))
		msgs[i] = d
	}
	data := map[string]jinja.Value{
		"messages":              jinja.NewList(msgs),
		"add_generation_prompt": jinja.NewBool(genPrompt),
	}
	if t.bos != "" {
		data["bos_token"] = jinja.NewString(t.bos)
	}
	if t.eos != "" {
		data["eos_token"] = jinja.NewString(t.eos)
	}
	if o.date != nil {
		d := *o.date
		data["date_string"] = jinja.NewString(d.Format("02 Jan 2006"))
		now := func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			format := "%Y-%m-%d"
			if len(args) > 0 && args[0].IsString() {
				format = args[0].AsString()
			}
			return jinja.NewString(strftime(d, format)), nil
		}
		data["strftime_now"] = jinja.NewCallable("strftime_now", now)
	}
	for k, v := range o.vars {
		data[k] = jinja.FromGoValue(v)
	}

	// The template engine is third-party code run on a template from a
	// checkpoint: turn any panic into an error.
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("tokenizer: chat template: %v", r)
		}
	}()
	out, err = t.chat.tmpl.RenderValues(data)
	if err != nil {
		return "", fmt.Errorf("tokenizer: chat template: %w", err)
	}
	return out, nil
}

// EncodeChat renders messages with the chat template and returns the token
// ids of the result, with no BOS beyond what the template writes. The
// control tokens the template writes are recognised, but message contents
// are encoded as with EncodePlain: a content holding "<|im_end|>" stays
// plain text. When no content holds an added token the result equals
// Encode(ApplyChatTemplate(...)).
//
// To tell contents from template text, the template is rendered a second
// time with each content replaced by a placeholder. When the template
// transforms contents in a way this cannot follow (beyond trimming
// whitespace), EncodeChat falls back to Encode of the rendered text if no
// content holds an added token, and returns an error otherwise.
func (t *Tokenizer) EncodeChat(messages []Message, addGenerationPrompt bool,
	opts ...ChatOption) ([]int, error) {

	rendered, err := t.ApplyChatTemplate(messages, addGenerationPrompt, opts...)
	if err != nil {
		return nil, err
	}
	segs, ok := t.chatSegments(messages, rendered, addGenerationPrompt, opts)
	if ok {
		return t.encodeSegments(segs), nil
	}
	for _, m := range messages {
		if t.added.containsAdded(m.Content) {
			return nil, errors.New("tokenizer: cannot tell message contents from the " +
				"chat template's own text, and a content holds a special token")
		}
	}
	return t.Encode(rendered), nil
}

// chatSegments splits rendered into the template's own text (control
// segments) and the message contents, or reports false.
func (t *Tokenizer) chatSegments(messages []Message, rendered string, genPrompt bool,
	opts []ChatOption) ([]segment, bool) {

	// Placeholders: a marker that occurs in no content and not in the
	// template, around the message index.
	marker := placeholderMarker(messages, t.chat.src)
	holders := make([]string, len(messages))
	for i := range messages {
		holders[i] = marker + strconv.Itoa(i) + marker
	}
	skeleton, err := t.render(messages, holders, genPrompt, opts)
	if err != nil {
		return nil, false
	}

	// Cut the skeleton into template text and placeholder references.
	type part struct {
		text string
		msg  int // -1 for template text
	}
	var parts []part
	for s := skeleton; s != ""; {
		i := strings.Index(s, marker)
		if i < 0 {
			parts = append(parts, part{s, -1})
			break
		}
		if i > 0 {
			parts = append(parts, part{s[:i], -1})
		}
		rest := s[i+len(marker):]
		j := strings.Index(rest, marker)
		if j < 0 {
			return nil, false
		}
		k, err := strconv.Atoi(rest[:j])
		if err != nil || k < 0 || k >= len(messages) {
			return nil, false
		}
		parts = append(parts, part{"", k})
		s = rest[j+len(marker):]
	}

	// Match the parts against the rendered text, trying for each content
	// the forms a template may print: as is, or trimmed.
	segs := make([]segment, len(parts))
	budget := 10000 // bounds the backtracking on adversarial contents
	var walk func(p, pos int) bool
	walk = func(p, pos int) bool {
		if budget--; budget < 0 {
			return false
		}
		if p == len(parts) {
			return pos == len(rendered)
		}
		if parts[p].msg < 0 {
			if !strings.HasPrefix(rendered[pos:], parts[p].text) {
				return false
			}
			segs[p] = segment{text: parts[p].text, control: true}
			return walk(p+1, pos+len(parts[p].text))
		}
		for _, c := range contentForms(messages[parts[p].msg].Content) {
			if strings.HasPrefix(rendered[pos:], c) && walk(p+1, pos+len(c)) {
				segs[p] = segment{text: c}
				return true
			}
		}
		return false
	}
	if !walk(0, 0) {
		return nil, false
	}
	return segs, true
}

// Placeholder markers are drawn from the supplementary private-use planes,
// U+F0000 to U+10FFFD (U+FFFFE, U+FFFFF, U+10FFFE and U+10FFFF are
// noncharacters and left out).
const (
	markerFirst = 0xF0000
	markerLast  = 0x10FFFD
)

// placeholderMarker returns a marker string that occurs in no message
// content and not in src. It is the lowest private-use rune in
// [markerFirst, markerLast] that none of them holds, so "\U000F0000" unless
// that one is taken. Only when the texts hold every one of those runes is
// it "\U000F0000" followed by one "\U000F0001" more than any text holds
// right after a "\U000F0000".
//
// It reads each text once: its time is linear in their total length, and
// the marker is one rune long except in the last case, where it is no
// longer than the texts.
func placeholderMarker(messages []Message, src string) string {
	var used [(markerLast - markerFirst + 64) / 64]uint64 // bit r-markerFirst
	nUsed := 0
	longest := -1 // most U+F0001 after a U+F0000; -1 when there is no U+F0000
	scan := func(s string) {
		run := -1 // U+F0001 since the last U+F0000, or -1 when outside a run
		for _, r := range s {
			// A valid encoding of a rune inside s is always decoded here:
			// UTF-8 resynchronises at every lead byte, even after invalid
			// bytes, so this finds the same runs as a substring search.
			switch {
			case r == markerFirst:
				run = 0
			case r == markerFirst+1 && run >= 0:
				run++
			default:
				run = -1
			}
			longest = max(longest, run)
			if r >= markerFirst && r <= markerLast {
				w, bit := (r-markerFirst)/64, uint64(1)<<((r-markerFirst)%64)
				if used[w]&bit == 0 {
					used[w] |= bit
					nUsed++
				}
			}
		}
	}
	for _, m := range messages {
		scan(m.Content)
	}
	scan(src)

	if nUsed <= markerLast-markerFirst {
		for r := rune(markerFirst); r <= markerLast; r++ {
			free := used[(r-markerFirst)/64]&(1<<((r-markerFirst)%64)) == 0
			if free && r != 0xFFFFE && r != 0xFFFFF {
				return string(r)
			}
		}
	}
	return "\U000F0000" + strings.Repeat("\U000F0001", longest+1)
}

// contentForms returns the distinct ways a template may print content.
func contentForms(content string) []string {
	forms := []string{
		content,
		strings.TrimSpace(content),
		strings.TrimLeftFunc(content, unicode.IsSpace),
		strings.TrimRightFunc(content, unicode.IsSpace),
	}
	out := forms[:0]
	for _, f := range forms {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// findEndOfTurn renders a short conversation and returns the ids of what
// the template writes after the assistant's content up to and including
// the first added token; EOS when that fails.
func (t *Tokenizer) findEndOfTurn() []int {
	var fallback []int
	if t.eosID >= 0 {
		fallback = []int{t.eosID}
	}
	if t.chat == nil {
		return fallback
	}
	const reply = "TaskmatchEndOfTurnProbe"
	msgs := []Message{{Role: "user", Content: "Hi"}, {Role: "assistant", Content: reply}}
	text, err := t.ApplyChatTemplate(msgs, false)
	if err != nil {
		return fallback
	}
	i := strings.LastIndex(text, reply)
	if i < 0 {
		return fallback
	}
	after := text[i+len(reply):]
	m, ok := t.added.find(after, 0)
	if !ok {
		return fallback
	}
	return t.Encode(after[:m.end])
}

// strftime formats d with a Python strftime format, for the directives
// chat templates use; others are copied as they are.
func strftime(d time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			b.WriteString(d.Format("2006"))
		case 'y':
			b.WriteString(d.Format("06"))
		case 'm':
			b.WriteString(d.Format("01"))
		case 'd':
			b.WriteString(d.Format("02"))
		case 'e':
			b.WriteString(d.Format("_2"))
		case 'b':
			b.WriteString(d.Format("Jan"))
		case 'B':
			b.WriteString(d.Format("January"))
		case 'a':
			b.WriteString(d.Format("Mon"))
		case 'A':
			b.WriteString(d.Format("Monday"))
		case 'H':
			b.WriteString(d.Format("15"))
		case 'I':
			b.WriteString(d.Format("03"))
		case 'M':
			b.WriteString(d.Format("04"))
		case 'S':
			b.WriteString(d.Format("05"))
		case 'p':
			b.WriteString(d.Format("PM"))
		case 'j':
			b.WriteString(fmt.Sprintf("%03d", d.YearDay()))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
