// Command gen writes a Hugging Face checkpoint with deterministic random
// weights, for benchmarks and tests:
//
//	go run ./internal/ckptgen/gen --shape qwen2-0.5b --out /tmp/q05b
//	go run ./internal/ckptgen/gen --hidden 64 --layers 2 --arch llama --shards 2 --out DIR
//
// Without a tokenizer the checkpoint serves only token ids (logits, perf);
// --tokenizer DIR copies tokenizer.json(.gz) and tokenizer_config.json.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/model"
)

func main() {
	var s ckptgen.Spec
	shape := flag.String("shape", "", "preset: qwen2-0.5b or tiny (other flags then override nothing)")
	arch := flag.String("arch", "qwen2", "qwen2 or llama")
	flag.IntVar(&s.Hidden, "hidden", 64, "hidden size")
	flag.IntVar(&s.Intermediate, "intermediate", 160, "MLP size")
	flag.IntVar(&s.Layers, "layers", 2, "decoder layers")
	flag.IntVar(&s.Heads, "heads", 4, "attention heads")
	flag.IntVar(&s.KVHeads, "kv-heads", 2, "key/value heads")
	flag.IntVar(&s.Vocab, "vocab", 151936, "vocabulary size")
	flag.BoolVar(&s.Tied, "tied", true, "tie the output layer to the embedding")
	flag.StringVar(&s.DType, "dtype", "BF16", "BF16, F16 or F32")
	flag.IntVar(&s.Shards, "shards", 1, "number of safetensors files")
	flag.Uint64Var(&s.Seed, "seed", 1, "random seed")
	out := flag.String("out", "", "output directory (required)")
	tok := flag.String("tokenizer", "", "directory whose tokenizer files are copied")
	flag.Parse()
	switch *shape {
	case "":
		s.Arch = model.ArchQwen2
		if *arch == "llama" {
			s.Arch, s.Llama3Rope, s.RopeTheta = model.ArchLlama, true, 500000
		}
	case "qwen2-0.5b":
		s = ckptgen.Qwen2_0_5B
	case "tiny":
		s = ckptgen.Tiny
	default:
		fail(fmt.Errorf("unknown shape %q", *shape))
	}
	if *out == "" {
		fail(fmt.Errorf("--out is required"))
	}
	if err := s.Write(*out); err != nil {
		fail(err)
	}
	if *tok != "" {
		for _, name := range []string{"tokenizer.json", "tokenizer.json.gz", "tokenizer_config.json"} {
			if err := copyFile(filepath.Join(*tok, name), filepath.Join(*out, name)); err != nil && !os.IsNotExist(err) {
				fail(err)
			}
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
