package engine_test

import (
	"context"
	"fmt"
	"log"

	"github.com/taskmatch/taskmatch/engine"
	"github.com/taskmatch/taskmatch/tokenizer"
)

// Load a model, score a prompt against a closed set of answers, close it.
// An empty Options.Model loads the built-in demo model (real Qwen2
// tokenizer, random weights); a real deployment names a checkpoint
// directory and its PEFT adapters:
//
//	engine.Options{Model: "/models/Qwen2-7B-Instruct", Adapters: []string{"/models/gdbm-lora"}}
//
// An Engine is safe for concurrent use: Score may be called from many
// goroutines.
func Example() {
	e, err := engine.Load(engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	res, err := e.Score(context.Background(), &engine.Request{
		Messages: []tokenizer.Message{{Role: "user", Content: "Is this user a fit for this task? Answer Yes or No."}},
		Options:  []string{"Yes", "No"},
	})
	if err != nil {
		log.Fatal(err)
	}
	sum := 0.0
	for _, r := range res.Ranking {
		sum += r.Probability
	}
	fmt.Println(len(res.Ranking), "options; answer is one of them:", res.Answer == res.Ranking[0].Option)
	fmt.Printf("probabilities sum to %.3f\n", sum)
	// Output:
	// 2 options; answer is one of them: true
	// probabilities sum to 1.000
}
