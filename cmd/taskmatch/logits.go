package main

import (
	"context"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/taskmatch/taskmatch/engine"
)

func init() {
	register("logits", "print the logits after a list of token ids (JSON)", runLogits)
}

func runLogits(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("logits", stderr)
	modelDir := fs.String("model", "", "checkpoint directory (required)")
	var adapters multiFlag
	fs.Var(&adapters, "adapter", "PEFT LoRA adapter directory (repeatable, merged in order)")
	idsFlag := fs.String("ids", "", "comma-separated token ids (required)")
	top := fs.Int("top", 10, "number of top logits to print")
	full := fs.Bool("full", false, "also print the logits of the whole vocabulary")
	threads := fs.Int("threads", 0, "CPU threads (0: one per core)")
	if rc, ok := parseFlags(fs, args); !ok {
		return rc
	}
	if *modelDir == "" || *idsFlag == "" {
		return usagef(fs, "--model and --ids are required")
	}
	if *top < 0 {
		return usagef(fs, "--top must not be negative")
	}
	var ids []int
	for _, f := range strings.Split(*idsFlag, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return usagef(fs, "bad token id %q in --ids", f)
		}
		ids = append(ids, id)
	}
	e, err := engine.Load(engine.Options{Model: *modelDir, Adapters: adapters, Threads: *threads,
		Context: len(ids), TokenizerOptional: true})
	if err != nil {
		return failf(stderr, "logits", "%v", err)
	}
	defer e.Close()
	logits, err := e.Logits(context.Background(), ids)
	if err != nil {
		return failf(stderr, "logits", "%v", err)
	}
	type entry struct {
		ID    int     `json:"id"`
		Logit float32 `json:"logit"`
	}
	order := make([]int, len(logits))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return logits[order[a]] > logits[order[b]] })
	out := struct {
		NTokens int       `json:"n_tokens"`
		Top     []entry   `json:"top"`
		Logits  []float32 `json:"logits,omitempty"`
	}{NTokens: len(ids), Top: []entry{}}
	for _, i := range order[:min(*top, len(order))] {
		out.Top = append(out.Top, entry{i, logits[i]})
	}
	if *full {
		out.Logits = logits
	}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		return failf(stderr, "logits", "%v", err)
	}
	return 0
}
