package main

import (
	"context"
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

// runServe listens at once, answering 503 on /healthz while the model
// loads, then serves until SIGTERM or SIGINT, after which it finishes the
// requests in flight and returns 0.
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
	queue := fs.Int("queue", server.DefaultQueue, "most requests running plus waiting (429 above)")
	timeout := fs.Duration("timeout", 2*time.Minute, "deadline of one request (0: none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return failf(stderr, "serve", "unexpected argument %q", fs.Arg(0))
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
	go func() { served <- server.Serve(ctx, ln, h, log) }()

	type loadResult struct {
		svc *server.Service
		err error
	}
	loaded := make(chan loadResult, 1)
	go func() {
		opts := engine.Options{Model: *modelDir, Adapters: adapters, Device: *device,
			Threads: *threads, Slots: *slots}
		if err := ef.apply(&opts); err != nil {
			loaded <- loadResult{nil, err}
			return
		}
		lim := server.Limits{MaxBody: *maxBody, MaxOptions: *maxOptions, MaxPromptTokens: *maxPrompt}
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
	svc.Engine().Close()
	if err != nil {
		return failf(stderr, "serve", "%v", err)
	}
	log.Info("stopped")
	return 0
}
