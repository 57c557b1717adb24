package main

import (
	"io"
	"log/slog"
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
	log.Info("model loaded", "model", modelName(opts.Model), "architecture", e.Config.Architecture,
		"adapters", len(e.Adapters), "device", e.Device, "dtype", e.DType, "context", e.ContextLen(),
		"load_time", time.Since(start).Round(time.Millisecond))
	return svc, nil
}
