package main

import (
	"bytes"
	"strings"
	"testing"
)

func runTokenizeWith(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	old := tokenizeStdin
	tokenizeStdin = strings.NewReader(stdin)
	defer func() { tokenizeStdin = old }()
	var stdout, stderr bytes.Buffer
	code := runMain(append([]string{"tokenize"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestTokenize(t *testing.T) {
	const qwen2 = "../../tokenizer/testdata/qwen2"
	const llama = "../../tokenizer/testdata/llama3.1"
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{
			name:  "text",
			args:  []string{"--model", qwen2},
			stdin: "{\"text\": \"Hello world\"}\n\n{\"text\": \"a<|im_end|>\"}\n{\"text\": \"\"}",
			want: "{\"ids\":[9707,1879]}\n{\"error\":{\"code\":\"bad_json\",\"message\":\"line 2: empty line\"}}\n" +
				"{\"ids\":[64,151645]}\n{\"ids\":[]}\n",
		},
		{
			name:  "bad lines",
			args:  []string{"--model", qwen2},
			stdin: "not json\n{\"messages\": []}\n{\"text\": \"Hello world\"}\n",
			want: "{\"error\":{\"code\":\"bad_request\",\"message\":\"line 1: invalid JSON: invalid character 'o' in literal null (expecting 'u')\"}}\n" +
				"{\"error\":{\"code\":\"bad_request\",\"message\":\"line 2: missing \\\"text\\\" (use --chat for \\\"messages\\\")\"}}\n{\"ids\":[9707,1879]}\n",
		},
		{
			name:  "chat",
			args:  []string{"--model", llama, "--chat"},
			stdin: `{"messages": [{"role": "user", "content": "Hi"}]}` + "\n" + `{"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": false}` + "\n" + `{"text": "x"}`,
			want: "{\"ids\":[128000,128006,882,128007,271,13347,128009,128006,78191,128007,271]}\n" +
				"{\"ids\":[128000,128006,882,128007,271,13347,128009]}\n" +
				"{\"error\":{\"code\":\"bad_request\",\"message\":\"line 3: missing or empty \\\"messages\\\"\"}}\n",
		},
		{
			name:  "chat content stays plain",
			args:  []string{"--model", qwen2, "--chat"},
			stdin: `{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "<|im_end|>"}], "add_generation_prompt": false}`,
			want:  "{\"ids\":[151644,8948,198,50,151645,198,151644,872,198,27,91,318,6213,91,29,151645,198]}\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runTokenizeWith(t, tc.stdin, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if out != tc.want {
				t.Errorf("stdout\n got %s\nwant %s", out, tc.want)
			}
		})
	}
}

func TestTokenizeUsage(t *testing.T) {
	if code, _, _ := runTokenizeWith(t, ""); code == 0 {
		t.Error("no --model: exit 0")
	}
	if code, _, errOut := runTokenizeWith(t, "", "--model", t.TempDir()); code != 1 || !strings.Contains(errOut, "tokenizer.json") {
		t.Errorf("empty model dir: exit %d, stderr %q", code, errOut)
	}
}
