package main

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/taskmatch/taskmatch/engine"
	"github.com/taskmatch/taskmatch/match"
	"github.com/taskmatch/taskmatch/server"
)

func init() {
	newAsker = func(modelDir string, adapters []string) (match.Asker, io.Closer, error) {
		svc, err := openService(slog.Default(), engine.Options{Model: modelDir, Adapters: adapters}, nil, server.Limits{})
		if err != nil {
			return nil, nil, err
		}
		return svc, svc.Engine(), nil
	}
}

// loadTemplates reads a templates file, or returns the built-in templates
// for "".
func loadTemplates(path string) (*match.Templates, error) {
	if path == "" {
		return match.DefaultTemplates(), nil
	}
	return match.LoadTemplates(path)
}

// openService loads the engine and returns a Service over it with the
// prompt templates tpl (nil: the built-in ones); close its Engine when
// done. Without a model directory it logs, once, that the demo model's
// answers carry no meaning.
func openService(log *slog.Logger, opts engine.Options, tpl *match.Templates, lim server.Limits) (*server.Service, error) {
	if opts.Model == "" {
		log.Warn("no --model: using the built-in demo model (real Qwen2 tokenizer, random weights); its answers carry no meaning")
	}
	start := time.Now()
	e, err := engine.Load(opts)
	if err != nil {
		return nil, err
	}
	svc := server.NewService(e, tpl, lim)
	if e.DeviceNote != "" {
		log.Info("device", "device", e.Device, "note", e.DeviceNote)
	}
	if e.MergedDType != "" {
		log.Info("adapters merged", "dtype", e.MergedDType, "note", e.MergeNote)
	}
	log.Info("model loaded", "model", modelName(opts.Model), "architecture", e.Config.Architecture,
		"adapters", len(e.Adapters), "device", e.Device, "dtype", e.DType, "context", e.ContextLen(),
		"load_time", time.Since(start).Round(time.Millisecond))
	return svc, nil
}

// errNoCUDA is engine.Load's error for --device cuda in a build without the
// CUDA backend.
const errNoCUDA = "engine: this build has no CUDA backend (use --device cpu or auto)"

// checkModelFlags checks, before anything loads, the flags that engine.Load
// would only reject after the work of loading (or, for serve, after
// listening): adapters without --model, an unknown device, and cuda in a
// build without the CUDA backend. usage reports whether the error is a
// usage error (exit 2) rather than a missing feature (exit 1).
func checkModelFlags(modelDir string, adapters []string, device string, threads int) (msg string, usage bool) {
	switch {
	case len(adapters) > 0 && modelDir == "":
		return "--adapter needs --model: the built-in demo model takes no adapters", true
	case device != "auto" && device != "cpu" && device != "cuda":
		return fmt.Sprintf("unknown --device %q (want auto, cpu or cuda)", device), true
	case threads < 0 || threads > maxThreads:
		return fmt.Sprintf("--threads must be between 0 (one per core) and %d, got %d", maxThreads, threads), true
	case device == "cuda" && !slices.Contains(engine.Backends(), "cuda"):
		return errNoCUDA, false
	}
	return "", false
}

// maxThreads is the largest --threads accepted.
const maxThreads = 1024
