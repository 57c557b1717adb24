package server_test

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/taskmatch/taskmatch/engine"
	"github.com/taskmatch/taskmatch/match"
	"github.com/taskmatch/taskmatch/server"
)

// Load the model once, then ask it matching questions. The demo model
// (Options.Model "") has random weights: its answers carry no meaning, but
// they always come from the allowed options, with probabilities summing
// to 1. Serve the same Service over HTTP with NewHandler and Serve.
func ExampleService() {
	e, err := engine.Load(engine.Options{}) // or Model: "path/to/Qwen2-7B-Instruct"
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	svc := server.NewService(e, match.DefaultTemplates(), server.Limits{})

	p := match.Profile{Gender: "Female", Age: "18-29", Education: "Undergraduate", Major: "Literature"}
	t := match.Task{Name: "Poetry translation", Description: "Translate classical poems"}
	a, err := svc.Match(context.Background(), "en", p, t)
	if err != nil {
		log.Fatal(err)
	}
	var options []string
	var sum float64
	for _, r := range a.Ranking {
		options = append(options, r.Option)
		sum += r.Probability
	}
	slices.Sort(options)
	fmt.Println(options, slices.Contains(options, a.Answer), fmt.Sprintf("%.3f", sum))
	// Output: [No Yes] true 1.000
}
