package main

import (
	"context"
	"testing"

	"github.com/taskmatch/taskmatch/match"
)

// TestNewAsker checks the Asker that bench and reassign get: the demo
// model answers the four questions with their allowed options.
func TestNewAsker(t *testing.T) {
	if newAsker == nil {
		t.Fatal("newAsker is not set")
	}
	a, closer, err := newAsker("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	ctx := context.Background()
	p := match.Profile{Major: "Medicine"}
	t1, t2 := match.Task{Name: "Medical QA"}, match.Task{Name: "Code review"}
	check := func(name string, ans match.Answer, err error, options ...string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(ans.Ranking) != len(options) || ans.Answer != ans.Ranking[0].Option {
			t.Fatalf("%s: %+v", name, ans)
		}
		for _, r := range ans.Ranking {
			found := false
			for _, o := range options {
				found = found || o == r.Option
			}
			if !found {
				t.Errorf("%s: option %q, want one of %q", name, r.Option, options)
			}
		}
	}
	ans, err := a.Match(ctx, "zh", p, t1)
	check("Match", ans, err, "是", "否")
	ans, err = a.PairUsers(ctx, "en", t1, p, match.Profile{Text: "a coder"})
	check("PairUsers", ans, err, "A", "B")
	ans, err = a.PairTasks(ctx, "en", p, t1, t2)
	check("PairTasks", ans, err, "A", "B")
	ans, err = a.Choose(ctx, "en", p, []match.Task{t1, t2})
	check("Choose", ans, err, "Medical QA", "Code review")

	if _, _, err := newAsker("/nonexistent/model", nil); err == nil {
		t.Error("a missing model directory loaded")
	}
}
