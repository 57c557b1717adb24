package main

import (
	"context"
	"encoding/json"
	"io"
	"syscall"

	"github.com/taskmatch/taskmatch/engine"
)

func init() {
	register("perf", "measure prefill and decode speed and peak memory (JSON)", runPerf)
}

func runPerf(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("perf", stderr)
	modelDir := fs.String("model", "", "checkpoint directory (default: the built-in demo model)")
	var adapters multiFlag
	fs.Var(&adapters, "adapter", "PEFT LoRA adapter directory (repeatable)")
	promptTokens := fs.Int("prompt-tokens", 256, "tokens to prefill")
	decode := fs.Int("decode", 32, "tokens to decode one at a time")
	threads := fs.Int("threads", 0, "CPU threads (0: one per core)")
	batch := fs.Int("batch", 0, "positions per forward step (0: the engine's default)")
	if rc, ok := parseFlags(fs, args); !ok {
		return rc
	}
	e, err := engine.Load(engine.Options{Model: *modelDir, Adapters: adapters, Threads: *threads,
		Context: *promptTokens + *decode, Batch: *batch, TokenizerOptional: true})
	if err != nil {
		return failf(stderr, "perf", "%v", err)
	}
	defer e.Close()
	res, err := e.Perf(context.Background(), *promptTokens, *decode)
	if err != nil {
		return failf(stderr, "perf", "%v", err)
	}
	out := struct {
		*engine.PerfResult
		PeakRSS     int64  `json:"peak_rss_bytes"`
		WeightBytes int64  `json:"weight_bytes"`
		Model       string `json:"model"`
		Threads     int    `json:"threads"`
	}{PerfResult: res, PeakRSS: peakRSS(), WeightBytes: e.WeightBytes(), Model: modelName(*modelDir), Threads: e.Threads()}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return failf(stderr, "perf", "%v", err)
	}
	return 0
}

// peakRSS is the process's peak resident set size in bytes.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}

func modelName(dir string) string {
	if dir == "" {
		return "demo"
	}
	return dir
}
