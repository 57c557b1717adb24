package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
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
// same order, output line N for input line N: the answer, or {"error":
// {"code", "message"}} for a line that fails, a blank one included
// (bad_json, "line N: empty line"). A bad line does not stop the run. The
// output file is created (or replaced) only once the model has loaded, and
// must not be the input file.
func runScore(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("score", stderr)
	modelDir := fs.String("model", "", "checkpoint directory (default: the built-in demo model)")
	var adapters multiFlag
	fs.Var(&adapters, "adapter", "PEFT LoRA adapter directory (repeatable, merged in order)")
	inPath := fs.String("in", "-", "input JSONL file (- for stdin)")
	outPath := fs.String("out", "-", "output JSONL file (- for stdout), one line per input line,\n"+
		"blank ones included (an error); written only once the model has loaded")
	device := fs.String("device", "auto", "where to run the model: auto, cpu or cuda")
	threads := fs.Int("threads", 0, "CPU threads (0: one per core)")
	ef := addEngineFlags(fs)
	templates := fs.String("templates", "", "JSON file replacing prompt templates (see package match)")
	if rc, ok := parseFlags(fs, args); !ok {
		return rc
	}
	if msg, usage := checkModelFlags(*modelDir, adapters, *device, *threads); msg != "" {
		if usage {
			return usagef(fs, "%s", msg)
		}
		return failf(stderr, "score", "%s", msg)
	}
	if msg := ef.check(); msg != "" {
		return usagef(fs, "%s", msg)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	in := scoreStdin
	var inInfo os.FileInfo
	if *inPath != "-" {
		f, err := os.Open(*inPath)
		if err != nil {
			return failf(stderr, "score", "%v", err)
		}
		defer f.Close()
		if inInfo, err = f.Stat(); err != nil {
			return failf(stderr, "score", "%v", err)
		}
		in = f
	} else if f, ok := scoreStdin.(*os.File); ok {
		// "--out x.jsonl < x.jsonl" truncates its input just the same.
		if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
			inInfo = info
		}
	}
	if *outPath != "-" {
		// Check the output path now, but create it only after the model
		// loaded: a failed load leaves an earlier output alone.
		info, err := os.Stat(*outPath)
		switch {
		case err == nil && inInfo != nil && os.SameFile(info, inInfo):
			return usagef(fs, "--in and --out are the same file (%s): the output would truncate the input", *outPath)
		case err == nil && info.IsDir():
			return failf(stderr, "score", "--out %s is a directory", *outPath)
		case err != nil && !errors.Is(err, iofs.ErrNotExist):
			return failf(stderr, "score", "%v", err)
		}
		if _, err := os.Stat(filepath.Dir(*outPath)); err != nil {
			return failf(stderr, "score", "%v", err)
		}
	}

	tpl, err := loadTemplates(*templates)
	if err != nil {
		return failf(stderr, "score", "%v", err)
	}
	opts := engine.Options{Model: *modelDir, Adapters: adapters, Device: *device, Threads: *threads}
	ef.apply(&opts)
	svc, err := openService(log, opts, tpl, server.Limits{})
	if err != nil {
		return failf(stderr, "score", "%v", err)
	}
	defer svc.Engine().Close()
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

// scoreLines answers each line of in on its own line of out, flushing
// after each; a blank line gets a bad_json error, so that output line N
// answers input line N. It returns the lines answered and how many of them
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
		if len(line) == 0 && readErr != nil {
			return lines, failed, nil // the end, after a final newline
		}
		lines++
		var v any
		if line = bytes.TrimSpace(line); len(line) == 0 {
			failed++
			v = &server.Error{Status: http.StatusBadRequest, Code: server.CodeBadJSON,
				Message: fmt.Sprintf("line %d: empty line", lines)}
		} else {
			res, err := svc.DoLine(ctx, line)
			if ctx.Err() != nil {
				return lines - 1, failed, errors.New("interrupted")
			}
			v = res
			if err != nil {
				failed++
				v = server.AsError(err)
			}
		}
		if err := enc.Encode(v); err != nil {
			return lines, failed, err
		}
		if err := w.Flush(); err != nil {
			return lines, failed, err
		}
		if readErr != nil {
			return lines, failed, nil
		}
	}
}
