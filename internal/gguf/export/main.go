// Command export converts a Hugging Face checkpoint directory to a GGUF file
// that llama.cpp loads:
//
//	go run ./internal/gguf/export --model DIR --out FILE.gguf [--type f32|bf16]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/taskmatch/taskmatch/internal/gguf"
	"github.com/taskmatch/taskmatch/model"
)

func main() {
	dir := flag.String("model", "", "checkpoint directory (required)")
	out := flag.String("out", "", "output .gguf file (required)")
	typ := flag.String("type", "f32", "element type of the 2-D weights: f32 or bf16")
	name := flag.String("name", "", "general.name (default: the directory name)")
	flag.Parse()
	if *dir == "" || *out == "" {
		fail(fmt.Errorf("--model and --out are required"))
	}
	opt := gguf.Options{Name: *name}
	switch strings.ToLower(*typ) {
	case "f32":
		opt.Type = gguf.F32
	case "bf16":
		opt.Type = gguf.BF16
	default:
		fail(fmt.Errorf("unknown --type %q (f32 or bf16)", *typ))
	}
	ck, err := model.Open(*dir)
	if err != nil {
		fail(err)
	}
	defer ck.Close()
	f, err := gguf.Convert(ck, opt)
	if err != nil {
		fail(err)
	}
	if err := f.WriteFile(*out); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "export: wrote %s (%d tensors, %d keys, %s)\n", *out, len(f.Tensors), len(f.KVs), opt.Type)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "export:", err)
	os.Exit(1)
}
