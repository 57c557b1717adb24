package engine

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/taskmatch/taskmatch/tokenizer"
)

// BenchmarkScoreChoose scores a multi-choice prompt with 8 task names, the
// options run as branches in one batch against one after the other (the
// baseline), on the demo model or on the checkpoint that
// $TASKMATCH_BENCH_MODEL names (it needs tokenizer files).
func BenchmarkScoreChoose(b *testing.B) {
	e, err := Load(Options{Model: os.Getenv("TASKMATCH_BENCH_MODEL"), Context: 1024})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	options := []string{"Weak Correlation Reasoning", "Medical QA review", "Poetry writing", "Code review",
		"Legal document summarisation", "Sports commentary", "Chemistry problem solving", "Art critique"}
	req := &Request{Messages: []tokenizer.Message{{Role: "user", Content: "Which of these tasks suits a nurse with a degree in Medicine best? " + fmt.Sprint(options)}}, Options: options}
	for _, mode := range []struct {
		name string
		rows int
	}{{"branches", 64}, {"sequential", 1}} {
		b.Run(mode.name, func(b *testing.B) {
			saved := maxBranchRows
			maxBranchRows = mode.rows
			defer func() { maxBranchRows = saved }()
			for b.Loop() {
				if _, err := e.Score(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrefill measures a 128-token prefill of the demo model.
func BenchmarkPrefill(b *testing.B) {
	e, err := Load(Options{Context: 256})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Perf(context.Background(), 128, 0); err != nil {
			b.Fatal(err)
		}
	}
}
