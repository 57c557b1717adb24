// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/taskmatch/taskmatch/model"
)

// ModuleRoot is the directory holding go.mod, found by walking up from the
// working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testutil: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Shared returns the path of rel inside the shared fixtures folder: the
// folder named by $TASKMATCH_SHARED, else ../shared beside the module root.
// The test is skipped, with a message that says so, when it is absent.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	base := os.Getenv("TASKMATCH_SHARED")
	if base == "" {
		base = filepath.Join(ModuleRoot(t), "..", "shared")
	}
	p := filepath.Join(base, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared fixture %s is absent (set TASKMATCH_SHARED or place shared/ beside the repo): skipping", p)
	}
	return p
}

// LogprobCase is one case of shared/fixtures/logprobs/*.json: a prompt and
// the log-probabilities llama.cpp computes at its last position.
type LogprobCase struct {
	ID       string `json:"id"`
	User     string `json:"user"`      // the user message (or raw text)
	ChatText string `json:"chat_text"` // the rendered prompt
	InputIDs []int  `json:"input_ids"`
	Chunks   []int  `json:"chunks"` // sizes of the calls the prompt was fed in, if several
	Top      struct {
		IDs      []int     `json:"ids"`
		LogProbs []float64 `json:"logprobs"`
	} `json:"top"`
	Options []struct {
		Text    string  `json:"text"`
		ID      int     `json:"id"`
		LogProb float64 `json:"logprob"`
	} `json:"options"`
	Sample struct {
		IDs      []int     `json:"ids"`
		LogProbs []float64 `json:"logprobs"`
	} `json:"sample"`
	Stats struct {
		Argmax int     `json:"argmax"`
		Max    float64 `json:"max_logprob"`
		Mean   float64 `json:"mean_logprob"`
		Std    float64 `json:"std_logprob"`
	} `json:"stats"`
}

// LogprobCases reads shared/fixtures/logprobs/<name>.json, or skips the
// test when the shared folder is absent.
func LogprobCases(t testing.TB, name string) []LogprobCase {
	t.Helper()
	path := Shared(t, filepath.Join("fixtures", "logprobs", name+".json"))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []LogprobCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return f.Cases
}

// OpenWeights opens the checkpoint in dir and builds its weights; the
// checkpoint is closed when the test ends.
func OpenWeights(t testing.TB, dir string) (*model.Checkpoint, *model.Weights) {
	t.Helper()
	ck, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	w, err := model.Build(ck)
	if err != nil {
		t.Fatal(err)
	}
	return ck, w
}
