package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/taskmatch/taskmatch/engine"
	"github.com/taskmatch/taskmatch/server"
)

func init() {
	register("score", "score JSONL request bodies (a \"kind\" per line) with the model", runScore)
}

// scoreStdin is what "--in -" reads; tests replace it.
var scoreStdin io.Reader = os.Stdin

// runScore reads one request body per line, with a "kind" field (match,
// pair, choose or score), and writes one response body per line in the
// same order: the answer, or {"error": {"code", "message"}} for a line
// that fails. Blank lines are skipped. A bad line does not stop the run.
func runScore(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("score", stderr)
	modelDir := fs.String("model", "", "checkpoint directory (default: the built-in demo model)")
	var adapters multiFlag
	fs.Var(&adapters, "adapter", "PEFT LoRA adapter directory (repeatable, merged in order)")
	inPath := fs.String("in", "-", "input JSONL file (- for stdin)")
	outPath := fs.String("out", "-", "output JSONL file (- for stdout)")
	device := fs.String("device", "auto", "where to run the model: auto, cpu or cuda")
	threads := fs.Int("threads", 0, "CPU threads (0: one per core)")
	ef := addEngineFlags(fs)
	templates := fs.String("templates", "", "JSON file replacing prompt templates (see package match)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return failf(stderr, "score", "unexpected argument %q", fs.Arg(0))
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	in := scoreStdin
	if *inPath != "-" {
		f, err := os.Open(*inPath)
		if err != nil {
			return failf(stderr, "score", "%v", err)
		}
		defer f.Close()
		in = f
	}
	out := stdout
	var outFile *os.File
	if *outPath != "-" {
		f, err := os.Create(*outPath)
		if err != nil {
			return failf(stderr, "score", "%v", err)
		}
		defer f.Close()
		out, outFile = f, f
	}

	tpl, err := loadTemplates(*templates)
	if err != nil {
		return failf(stderr, "score", "%v", err)
	}
	opts := engine.Options{Model: *modelDir, Adapters: adapters, Device: *device, Threads: *threads}
	if err := ef.apply(&opts); err != nil {
		return failf(stderr, "score", "%v", err)
	}
	svc, err := openService(log, opts, tpl, server.Limits{})
	if err != nil {
		return failf(stderr, "score", "%v", err)
	}
	defer svc.Engine().Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	lines, failed, err := scoreLines(ctx, svc, in, out)
	if err == nil && outFile != nil {
		err = outFile.Close()
	}
	if err != nil {
		return failf(stderr, "score", "%v", err)
	}
	log.Info("scored", "lines", lines, "errors", failed)
	return 0
}

// scoreLines answers each non-blank line of in on its own line of out,
// flushing after each. It returns the lines answered and how many of them
// failed; its error is a failure to read or write, or an interrupt.
func scoreLines(ctx context.Context, svc *server.Service, in io.Reader, out io.Writer) (lines, failed int, err error) {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for {
		line, readErr := r.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return lines, failed, readErr
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			res, err := svc.DoLine(ctx, line)
			if ctx.Err() != nil {
				return lines, failed, errors.New("interrupted")
			}
			lines++
			var v any = res
			if err != nil {
				failed++
				v = server.AsError(err)
			}
			if err := enc.Encode(v); err != nil {
				return lines, failed, err
			}
			if err := w.Flush(); err != nil {
				return lines, failed, err
			}
		}
		if readErr != nil {
			return lines, failed, nil
		}
	}
}
