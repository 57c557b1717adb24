package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/taskmatch/taskmatch/lora"
	"github.com/taskmatch/taskmatch/model"
)

func init() { register("merge", "merge LoRA adapters into a checkpoint", runMerge) }

// adapterList collects repeated --adapter flags.
type adapterList []string

func (l *adapterList) String() string { return strings.Join(*l, ",") }

func (l *adapterList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// runMerge implements `taskmatch merge --model DIR --adapter DIR
// [--adapter DIR ...] --out DIR`: it merges the adapters in order and writes
// a complete bfloat16 checkpoint.
func runMerge(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("taskmatch merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "base checkpoint directory")
	outDir := fs.String("out", "", "directory for the merged checkpoint")
	var adapters adapterList
	fs.Var(&adapters, "adapter", "PEFT LoRA adapter directory (repeat to merge several, in order)")
	if rc, ok := parseFlags(fs, args); !ok {
		return rc
	}
	if *modelDir == "" || *outDir == "" || len(adapters) == 0 {
		fmt.Fprintln(stderr, "usage: taskmatch merge --model DIR --adapter DIR [--adapter DIR ...] --out DIR")
		return 2
	}
	if err := mergeCheckpoint(*modelDir, adapters, *outDir, stdout); err != nil {
		fmt.Fprintln(stderr, "taskmatch merge:", err)
		return 1
	}
	return 0
}

func mergeCheckpoint(modelDir string, adapters []string, outDir string, stdout io.Writer) error {
	start := time.Now()
	// Load every adapter first so that a bad one fails before any work.
	loaded := make([]*lora.Adapter, len(adapters))
	for i, dir := range adapters {
		a, err := lora.Load(dir)
		if err != nil {
			return err
		}
		loaded[i] = a
	}
	ck, err := model.Open(modelDir)
	if err != nil {
		return err
	}
	defer ck.Close()
	w, err := model.Build(ck)
	if err != nil {
		return err
	}
	for _, a := range loaded {
		if err := a.Check(ck.Config); err != nil {
			return fmt.Errorf("%w (adapter %s)", err, a.Dir)
		}
	}
	for _, a := range loaded {
		if err := a.Merge(w); err != nil {
			return fmt.Errorf("%w (adapter %s)", err, a.Dir)
		}
	}
	if err := lora.WriteMerged(ck, w, outDir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "merged %d adapter(s) into %s in %.1fs: %s\n",
		len(loaded), modelDir, time.Since(start).Seconds(), outDir)
	return nil
}
