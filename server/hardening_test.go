package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taskmatch/taskmatch/engine"
	"github.com/taskmatch/taskmatch/internal/ckptgen"
)

// TestStrictKeys checks what encoding/json alone lets pass: keys that
// match a field only regardless of case and duplicated keys, at any depth,
// are 400 bad_json naming the key; task names that are the same once
// trimmed and normalized are 400 bad_request.
func TestStrictKeys(t *testing.T) {
	svc := NewService(tiny, nil, Limits{})
	srv := newServer(t, svc, Config{})
	for _, tc := range []struct {
		name, path, body, code, key string
	}{
		{"capitalized key", "/v1/match", `{"Profile": ` + profileJSON + `, "task": ` + taskJSON + `}`, CodeBadJSON, `"Profile"`},
		{"upper-case key", "/v1/match", `{"profile": ` + profileJSON + `, "TASK": ` + taskJSON + `}`, CodeBadJSON, `"TASK"`},
		{"nested capitalized key", "/v1/match", `{"profile": {"Major": "Medicine"}, "task": ` + taskJSON + `}`, CodeBadJSON, `"profile.Major"`},
		{"duplicated key", "/v1/match", `{"profile": ` + profileJSON + `, "task": ` + taskJSON + `, "task": ` + task2JSON + `}`, CodeBadJSON, `"task"`},
		{"duplicated nested key", "/v1/match", `{"profile": {"major": "Medicine", "major": "Law"}, "task": ` + taskJSON + `}`, CodeBadJSON, `"profile.major"`},
		{"duplicated key in a list", "/v1/choose", `{"profile": ` + profileJSON + `, "tasks": [{"name": "a"}, {"name": "b", "name": "c"}]}`, CodeBadJSON, `"tasks[1].name"`},
		{"capitalized key in a list", "/v1/choose", `{"profile": ` + profileJSON + `, "tasks": [{"Name": "a"}, {"name": "b"}]}`, CodeBadJSON, `"tasks[0].Name"`},
		{"duplicated key in pair a", "/v1/pair", `{"task": ` + taskJSON + `, "a": {"major": "x", "major": "y"}, "b": ` + profileJSON + `}`, CodeBadJSON, `"a.major"`},
		{"capitalized key in pair b", "/v1/pair", `{"profile": ` + profileJSON + `, "a": ` + taskJSON + `, "b": {"NAME": "x"}}`, CodeBadJSON, `"b.NAME"`},
		{"capitalized key in a message", "/v1/score", `{"messages": [{"Role": "user", "content": "hi"}], "options": ["a"]}`, CodeBadJSON, `"messages[0].Role"`},
		{"duplicated options", "/v1/score", `{"prompt": "hi", "options": ["a"], "options": ["b"]}`, CodeBadJSON, `"options"`},
		{"names differing by space", "/v1/choose", `{"profile": ` + profileJSON + `, "tasks": [{"name": "x"}, {"name": "x "}]}`, CodeBadRequest, `"x "`},
		{"same users in a pair", "/v1/pair", `{"task": ` + taskJSON + `, "a": ` + profileJSON + `, "b": ` + profileJSON + `}`, CodeBadRequest, `same profile`},
		{"same tasks in a pair", "/v1/pair", `{"profile": ` + profileJSON + `, "a": ` + taskJSON + `, "b": ` + taskJSON + `}`, CodeBadRequest, `same task`},
		{"invalid UTF-8", "/v1/score", "{\"prompt\": \"x\xff\", \"options\": [\"a\"]}", CodeBadJSON, `UTF-8`},
		{"lone surrogate", "/v1/score", `{"prompt": "x", "options": ["\ud800", "b"]}`, CodeBadJSON, `surrogate`},
		{"names differing by normalization", "/v1/choose", `{"profile": ` + profileJSON + `, "tasks": [{"name": "caf\u00e9"}, {"name": "cafe\u0301"}]}`, CodeBadRequest, `same`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, data := post(t, srv, tc.path, tc.body)
			if status != 400 {
				t.Errorf("status %d, want 400 (%s)", status, data)
			}
			checkError(t, data, tc.code)
			var e errorBody
			json.Unmarshal(data, &e)
			if !strings.Contains(e.Error.Message, tc.key) {
				t.Errorf("message %q does not name %s", e.Error.Message, tc.key)
			}
		})
	}

	// The JSONL form: the "kind" field is strict as well.
	ctx := context.Background()
	for _, line := range []string{
		`{"kind": "match", "kind": "pair", "profile": ` + profileJSON + `, "task": ` + taskJSON + `}`,
		`{"kind": "match", "profile": ` + profileJSON + `, "task": ` + taskJSON + `, "Task": ` + taskJSON + `}`,
	} {
		_, err := svc.DoLine(ctx, []byte(line))
		if e := AsError(err); e == nil || e.Code != CodeBadJSON {
			t.Errorf("%s: %v, want bad_json", line, err)
		}
	}
	// Exact keys, in any order and with white space, still pass.
	body := `{ "lang" : "en", "task": {"example": "e", "name": "n"},"profile":{"text":"a nurse"} }`
	if status, data := post(t, srv, "/v1/match", body); status != 200 {
		t.Errorf("exact keys: %d %s", status, data)
	}
}

// TestOptionTokens checks Limits.MaxOptionTokens: options over it are a
// 400 before the model runs, and /v1/model reports it.
func TestOptionTokens(t *testing.T) {
	svc := NewService(tiny, nil, Limits{MaxOptionTokens: 11})
	srv := newServer(t, svc, Config{})
	status, data := post(t, srv, "/v1/score", `{"prompt": "hi", "options": ["one two three four five", "six seven eight nine ten"]}`)
	if status != 400 {
		t.Fatalf("status %d, want 400 (%s)", status, data)
	}
	checkError(t, data, CodeTooManyTokens)
	status, data = post(t, srv, "/v1/score", `{"prompt": "hi", "options": ["one two", "three"]}`)
	if status != 200 {
		t.Errorf("options within the limit: %d %s", status, data)
	}
	resp, err := srv.Client().Get(srv.URL + "/v1/model")
	if err != nil {
		t.Fatal(err)
	}
	var info ModelInfo
	err = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if err != nil || info.Limits.MaxOptionTokens != 11 {
		t.Errorf("/v1/model: max_option_tokens %d (%v)", info.Limits.MaxOptionTokens, err)
	}

	// The default: many long options, each within every other limit, are
	// rejected at once instead of holding the engine.
	def := NewService(tiny, nil, Limits{})
	if def.Limits().MaxOptionTokens != DefaultMaxOptionTokens {
		t.Errorf("default MaxOptionTokens %d", def.Limits().MaxOptionTokens)
	}
	options := make([]string, 40)
	for i := range options {
		options[i] = fmt.Sprintf("option %d:%s", i, strings.Repeat(" word", 300))
	}
	req, _ := json.Marshal(map[string]any{"prompt": "hi", "options": options})
	start := time.Now()
	status, data = post(t, newServer(t, def, Config{}), "/v1/score", string(req))
	if status != 400 {
		t.Fatalf("40 options of 300 words: %d %s", status, data)
	}
	checkError(t, data, CodeTooManyTokens)
	t.Logf("rejected in %v", time.Since(start))
}

// TestNonFinite loads a checkpoint whose final norm weight is NaN: its
// log-probabilities are NaN, which is a 500 non_finite, not an answer.
func TestNonFinite(t *testing.T) {
	if e := AsError(fmt.Errorf("scoring: %w", engine.ErrNonFinite)); e.Status != 500 || e.Code != CodeNonFinite {
		t.Errorf("AsError(ErrNonFinite) = %d %s", e.Status, e.Code)
	}

	dir := t.TempDir()
	for _, name := range []string{"config.json", "tokenizer.json.gz", "tokenizer_config.json", "generation_config.json"} {
		data, err := os.ReadFile(filepath.Join(tinyDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var named []ckptgen.NamedBytes
	for _, ts := range tinySpec.Tensors() {
		if ts.Name == "model.norm.weight" {
			for i := range ts.Values {
				ts.Values[i] = float32(math.NaN())
			}
		}
		dt := tiny.Weights().Embed.DType
		named = append(named, ckptgen.NamedBytes{Name: ts.Name, DType: dt, Shape: ts.Shape, Data: ckptgen.Encode(ts.Values, dt)})
	}
	if err := ckptgen.WriteSafetensors(filepath.Join(dir, "model.safetensors"), named, nil); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Load(engine.Options{Model: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv := newServer(t, NewService(e, nil, Limits{}), Config{})
	for _, rq := range []struct{ path, body string }{
		{"/v1/match", goodMatch},
		{"/v1/score", `{"prompt": "hi", "options": ["a", "b"]}`},
		{"/v1/score", `{"prompt": "hi", "options": ["a", "b"], "mode": "greedy"}`},
	} {
		status, data := post(t, srv, rq.path, rq.body)
		if status != 500 {
			t.Errorf("%s %s: %d %s, want 500", rq.path, rq.body, status, data)
			continue
		}
		checkError(t, data, CodeNonFinite)
	}
}

// trickle opens a connection to addr and starts a POST /v1/score that
// announces a 100-byte body and sends one byte every interval until the
// connection fails or stop is closed. The returned channel gets the status
// line of the response, or "" when the connection ended without one.
func trickle(t *testing.T, addr string, interval time.Duration, stop <-chan struct{}) <-chan string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /v1/score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	status := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		status <- strings.TrimSpace(line)
	}()
	return status
}

// TestSlowBody checks Serve against a client that trickles its body: the
// read timeout answers it 408 and the shutdown is not held up; with a
// longer read timeout, the shutdown gives up after its own bound.
func TestSlowBody(t *testing.T) {
	h := NewHandler(Config{Logger: quietLogger()})
	h.SetService(NewService(tiny, nil, Limits{}))
	serve := func(cfg ServeConfig) (string, context.CancelFunc, <-chan error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cfg.Logger = quietLogger()
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, ln, h, cfg) }()
		return ln.Addr().String(), cancel, done
	}
	wait := func(done <-chan error, bound time.Duration) error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(bound):
			t.Fatalf("Serve did not return within %v", bound)
			return nil
		}
	}
	stop := make(chan struct{})
	defer close(stop)

	t.Run("read timeout", func(t *testing.T) {
		addr, cancel, done := serve(ServeConfig{ReadTimeout: 300 * time.Millisecond, ShutdownTimeout: 10 * time.Second})
		status := trickle(t, addr, 50*time.Millisecond, stop)
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		cancel() // the shutdown starts while the body is arriving
		select {
		case s := <-status:
			if !strings.Contains(s, " 408 ") {
				t.Errorf("status line %q, want 408", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no answer to the slow body")
		}
		if err := wait(done, 5*time.Second); err != nil {
			t.Errorf("Serve: %v", err)
		}
		t.Logf("shut down in %v", time.Since(start))
	})

	t.Run("shutdown timeout", func(t *testing.T) {
		addr, cancel, done := serve(ServeConfig{ReadTimeout: time.Minute, ShutdownTimeout: 300 * time.Millisecond})
		trickle(t, addr, 50*time.Millisecond, stop)
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		cancel()
		if err := wait(done, 5*time.Second); !errors.Is(err, ErrShutdownTimeout) {
			t.Errorf("Serve: %v, want ErrShutdownTimeout", err)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("gave up after %v, before the shutdown timeout", d)
		}
		ctx, cancelWait := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelWait()
		if err := h.Wait(ctx); err != nil {
			t.Errorf("handler still busy after the forced shutdown: %v", err)
		}
	})

	// A body that arrives in time is answered as usual.
	addr, cancel, done := serve(ServeConfig{ReadTimeout: 5 * time.Second})
	resp, err := http.Post("http://"+addr+"/v1/match", "application/json", strings.NewReader(goodMatch))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a normal request: %d", resp.StatusCode)
	}
	cancel()
	if err := wait(done, 5*time.Second); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"prompt":"x","options":["a","b"]}`, true},
		{`{"prompt":"x","options":["\ud83d\ude00","b"]}`, true}, // a surrogate pair: 😀
		{`{"prompt":"\\ud800","options":["a"]}`, true},          // an escaped backslash, then text
		{`{"prompt":"x","options":["\ud800","b"]}`, false},
		{`{"prompt":"x","options":["\udc00","b"]}`, false},
		{`{"prompt":"x","options":["\ud800\u0041","b"]}`, false},
		{"{\"prompt\":\"x\xff\",\"options\":[\"a\"]}", false},
	} {
		err := checkText([]byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok %v", tc.body, err, tc.ok)
		}
	}
}

func TestTypeErrorsNameFieldsNotGoTypes(t *testing.T) {
	var r ScoreRequest
	err := decodeStrict([]byte(`{"prompt": 5, "options": ["a"]}`), &r)
	if err == nil || strings.Contains(err.Error(), "Go struct") || !strings.Contains(err.Error(), `"prompt": want a string`) {
		t.Errorf("error %v", err)
	}
}
