package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/taskmatch/taskmatch/engine"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeCommand runs "taskmatch serve" on a loopback port: /healthz
// turns 200 once the demo model is loaded, 32 requests sent at once each
// succeed or get 429 (the queue holds 8), a bad request gets its JSON
// error, and SIGTERM lets the requests in flight finish before it returns 0.
func TestServeCommand(t *testing.T) {
	var stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- runMain([]string{"serve", "--addr", "127.0.0.1:0", "--queue", "8", "--read-timeout", "1s"}, io.Discard, &stderr)
	}()

	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	var base string
	deadline := time.Now().Add(60 * time.Second)
	for base == "" {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not listen:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	for {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("/healthz: %d\n%s", resp.StatusCode, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	resp, err := client.Post(base+"/v1/choose", "application/json",
		strings.NewReader(`{"profile": {"major": "Medicine"}, "tasks": [{"name": "a"}, {"name": "a"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"error":{"code":"bad_request"`) {
		t.Errorf("duplicated tasks: %d %s", resp.StatusCode, body)
	}

	const n = 32
	statuses := make([]int, n)
	var answered atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			resp, err := client.Post(base+"/v1/score", "application/json",
				strings.NewReader(`{"messages": [{"role": "user", "content": "Is the sky blue?"}], "options": ["Yes", "No"]}`))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
			answered.Add(1)
		})
	}
	close(start)
	// SIGTERM while requests are in flight (all sent: the ones over the
	// queue have their 429): they still finish.
	for answered.Load() < n-8 {
		time.Sleep(time.Millisecond)
	}
	// A client trickling its body, one byte per 100ms, does not hold up the
	// shutdown: the read timeout (1s) ends it.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/score HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n")
	go func() {
		for range 100 {
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	ok, full := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 429:
			full++
		default:
			t.Errorf("status %d", s)
		}
	}
	if ok == 0 || full == 0 {
		t.Errorf("%d of %d requests succeeded, %d got 429, with a queue of 8", ok, n, full)
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	log := stderr.String()
	if n := strings.Count(log, "carry no meaning"); n != 1 {
		t.Errorf("the demo warning appears %d times", n)
	}
	if !regexp.MustCompile(`msg=request id=\S+ endpoint=/v1/score prompt_tokens=\d+ latency=\S+ status=200`).MatchString(log) {
		t.Errorf("no request line in the log:\n%s", log)
	}
	if t.Failed() {
		t.Log(log)
	}
}

func TestServeUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runMain([]string{"serve", "--bogus"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
	if code := runMain([]string{"serve", "--addr", "127.0.0.1:0", "--templates", "/nonexistent.json"}, &stdout, &stderr); code != 1 {
		t.Errorf("missing templates file: exit %d", code)
	}
	// Flags out of range, and flags engine.Load would reject only after
	// the server listens, fail at once: nothing listens, no model loads.
	cudaExit := 1
	if slices.Contains(engine.Backends(), "cuda") {
		cudaExit = -1 // a CUDA build: not a usage error
	}
	for _, tc := range []struct {
		args []string
		exit int
	}{
		{[]string{"--slots", "-1"}, 2},
		{[]string{"--slots", "0"}, 2},
		{[]string{"--slots", "65"}, 2},
		{[]string{"--queue", "-1"}, 2},
		{[]string{"--max-body", "-5"}, 2},
		{[]string{"--max-options", "-1"}, 2},
		{[]string{"--max-prompt-tokens", "-1"}, 2},
		{[]string{"--max-option-tokens", "0"}, 2},
		{[]string{"--threads", "-2"}, 2},
		{[]string{"--timeout", "-1s"}, 2},
		{[]string{"--read-timeout", "0s"}, 2},
		{[]string{"--shutdown-timeout", "-1s"}, 2},
		{[]string{"--context", "-1"}, 2},
		{[]string{"--adapter", "/some/adapter"}, 2},
		{[]string{"--device", "tpu"}, 2},
		{[]string{"--device", "cuda"}, cudaExit},
		{[]string{"extra"}, 2},
	} {
		if tc.exit < 0 {
			continue
		}
		stderr.Reset()
		code := runMain(append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...), &stdout, &stderr)
		if code != tc.exit {
			t.Errorf("%q: exit %d, want %d: %s", tc.args, code, tc.exit, stderr.String())
		}
		if log := stderr.String(); strings.Contains(log, "listening") || strings.Contains(log, "carry no meaning") {
			t.Errorf("%q: started before failing:\n%s", tc.args, log)
		}
	}
}
