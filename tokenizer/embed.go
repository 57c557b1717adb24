package tokenizer

import "embed"

// qwen2Files holds the real Qwen2-Instruct tokenizer (tokenizer.json.gz
// and tokenizer_config.json), also used by the tests.
//
//go:embed testdata/qwen2/tokenizer.json.gz testdata/qwen2/tokenizer_config.json
var qwen2Files embed.FS

// Qwen2Demo returns the Qwen2-Instruct tokenizer built into the binary
// (vocabulary of 151646 ids, ChatML template with the default system
// prompt "You are a helpful assistant."). Each call parses it anew, which
// takes a fraction of a second.
func Qwen2Demo() (*Tokenizer, error) {
	return LoadFS(qwen2Files, "testdata/qwen2")
}
