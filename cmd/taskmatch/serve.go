package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taskmatch/taskmatch/engine"
	"github.com/taskmatch/taskmatch/server"
)

func init() {
	register("serve", "serve the matching API over HTTP", runServe)
}

// runServe checks its flags (exit 2 for a usage error), then listens at
// once, answering 503 on /healthz while the model loads, and serves until
// SIGTERM or SIGINT, after which it finishes the requests in flight and
// returns 0; it returns 1 when they have not finished within
// --shutdown-timeout.
func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", stderr)
	modelDir := fs.String("model", "", "checkpoint directory (default: the built-in demo model)")
	var adapters multiFlag
	fs.Var(&adapters, "adapter", "PEFT LoRA adapter directory (repeatable, merged in order)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	device := fs.String("device", "auto", "where to run the model: auto, cpu or cuda")
	threads := fs.Int("threads", 0, "CPU threads (0: one per core)")
	ef := addEngineFlags(fs)
	slots := fs.Int("slots", 1, "sequences scored at once, each with its own KV cache")
	templates := fs.String("templates", "", "JSON file replacing prompt templates (see package match)")
	maxBody := fs.Int64("max-body", server.DefaultMaxBody, "largest request body in bytes (413 above)")
	maxOptions := fs.Int("max-options", server.DefaultMaxOptions, "most options of /v1/score and tasks of /v1/choose")
	maxPrompt := fs.Int("max-prompt-tokens", 0, "longest prompt in tokens (0: the model's context)")
	maxOptionTokens := fs.Int("max-option-tokens", server.DefaultMaxOptionTokens,
		"most tokens of all options (or task names) of one request together")
	queue := fs.Int("queue", server.DefaultQueue, "most requests running plus waiting (429 above)")
	timeout := fs.Duration("timeout", 2*time.Minute, "deadline of one request, once its body is read (0: none)")
	readTimeout := fs.Duration("read-timeout", server.DefaultReadTimeout,
		"deadline for reading one request, headers and body (408 past it)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 0,
		"after SIGTERM, how long the requests in flight may take before they are canceled\n"+
			"(0: --read-timeout + --timeout + 10s, or 3m with --timeout 0)")
	if rc, ok := parseFlags(fs, args); !ok {
		return rc
	}
	if msg, usage := checkModelFlags(*modelDir, adapters, *device, *threads); msg != "" {
		if usage {
			return usagef(fs, "%s", msg)
		}
		return failf(stderr, "serve", "%s", msg)
	}
	if msg := checkServeFlags(*slots, *queue, *maxBody, *maxOptions, *maxPrompt, *maxOptionTokens,
		*timeout, *readTimeout, *shutdownTimeout); msg != "" {
		return usagef(fs, "%s", msg)
	}
	if msg := ef.check(); msg != "" {
		return usagef(fs, "%s", msg)
	}
	if *shutdownTimeout == 0 {
		*shutdownTimeout = server.DefaultShutdownTimeout
		if *timeout > 0 {
			*shutdownTimeout = *readTimeout + *timeout + 10*time.Second
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	tpl, err := loadTemplates(*templates)
	if err != nil {
		return failf(stderr, "serve", "%v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return failf(stderr, "serve", "%v", err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	h := server.NewHandler(server.Config{Queue: *queue, Timeout: *timeout, Logger: log})
	served := make(chan error, 1)
	go func() {
		served <- server.Serve(ctx, ln, h, server.ServeConfig{ReadTimeout: *readTimeout,
			ShutdownTimeout: *shutdownTimeout, Logger: log})
	}()

	type loadResult struct {
		svc *server.Service
		err error
	}
	loaded := make(chan loadResult, 1)
	go func() {
		opts := engine.Options{Model: *modelDir, Adapters: adapters, Device: *device,
			Threads: *threads, Slots: *slots}
		ef.apply(&opts)
		lim := server.Limits{MaxBody: *maxBody, MaxOptions: *maxOptions, MaxPromptTokens: *maxPrompt,
			MaxOptionTokens: *maxOptionTokens}
		svc, err := openService(log, opts, tpl, lim)
		loaded <- loadResult{svc, err}
	}()

	var svc *server.Service
	select {
	case r := <-loaded:
		if r.err != nil {
			stop()
			<-served
			return failf(stderr, "serve", "%v", r.err)
		}
		svc = r.svc
		h.SetService(svc)
		log.Info("ready")
	case err := <-served:
		// A signal (or a failure to serve) before the model was loaded.
		if err != nil {
			return failf(stderr, "serve", "%v", err)
		}
		log.Info("stopped before the model was loaded")
		return 0
	}
	err = <-served
	// Close the engine once no handler uses it: at once after a graceful
	// shutdown; after a shutdown that ran out of time, the canceled
	// requests get a moment to leave.
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if h.Wait(wctx) == nil {
		svc.Engine().Close()
	} else {
		log.Warn("requests still running: leaving the engine open")
	}
	cancel()
	if err != nil {
		return failf(stderr, "serve", "%v", err)
	}
	log.Info("stopped")
	return 0
}

// maxSlots is the largest --slots accepted.
const maxSlots = 64

// checkServeFlags returns a usage error for a serve flag out of range, or
// "".
func checkServeFlags(slots, queue int, maxBody int64, maxOptions, maxPrompt, maxOptionTokens int,
	timeout, readTimeout, shutdownTimeout time.Duration) string {
	switch {
	case slots < 1 || slots > maxSlots:
		return fmt.Sprintf("--slots must be between 1 and %d, got %d", maxSlots, slots)
	case queue < 1:
		return fmt.Sprintf("--queue must be at least 1, got %d", queue)
	case maxBody < 1:
		return fmt.Sprintf("--max-body must be at least 1, got %d", maxBody)
	case maxOptions < 1:
		return fmt.Sprintf("--max-options must be at least 1, got %d", maxOptions)
	case maxPrompt < 0:
		return fmt.Sprintf("--max-prompt-tokens must be 0 (the model's context) or more, got %d", maxPrompt)
	case maxOptionTokens < 1:
		return fmt.Sprintf("--max-option-tokens must be at least 1, got %d", maxOptionTokens)
	case timeout < 0:
		return fmt.Sprintf("--timeout must be 0 (none) or more, got %v", timeout)
	case readTimeout <= 0:
		return fmt.Sprintf("--read-timeout must be positive, got %v", readTimeout)
	case shutdownTimeout < 0:
		return fmt.Sprintf("--shutdown-timeout must be 0 (the default) or more, got %v", shutdownTimeout)
	}
	return ""
}
