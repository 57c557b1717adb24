package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/taskmatch/taskmatch/match"
)

func init() {
	register("bench", "score a matching model on the test sets (accuracy, ART, EART)", runBench)
}

func runBench(args []string, stdout, stderr io.Writer) int {
	c := newGDBMCmd("bench", "--data test.jsonl --pairs pairs.csv (--predictions FILE | [--model DIR] [--adapter DIR]) [--out FILE]", stderr)
	data := c.fs.String("data", "", "test entries JSONL written by dataset (required)")
	pairsPath := c.fs.String("pairs", "", "pairs.csv written by analyze (required)")
	predsPath := c.fs.String("predictions", "", "predictions JSONL to score instead of asking a model "+
		"(test entries it leaves out score as invalid; bench warns about them on stderr)")
	modelDir := c.fs.String("model", "", "model directory (default: the built-in demo model)")
	var adapters multiFlag
	c.fs.Var(&adapters, "adapter", "LoRA adapter directory (repeatable)")
	out := c.fs.String("out", "", "write the results as JSON to this file")
	predsOut := c.fs.String("predictions-out", "", "where a model's predictions go "+
		"(default: next to --out as NAME.predictions.jsonl, else predictions.jsonl beside --data)")
	tasksPath := c.fs.String("tasks", "", "task catalogue JSON for the prompts (names, descriptions, examples)")
	if code, ok := c.parse(args); !ok {
		return code
	}
	if *data == "" || *pairsPath == "" {
		return c.usageErr("--data and --pairs are required")
	}
	if *predsPath != "" && (*modelDir != "" || len(adapters) > 0) {
		return c.usageErr("--predictions cannot be used with --model or --adapter")
	}
	predsTarget := *predsOut
	if *predsPath == "" && predsTarget == "" {
		if *out != "" {
			predsTarget = strings.TrimSuffix(*out, filepath.Ext(*out)) + ".predictions.jsonl"
		} else {
			predsTarget = filepath.Join(filepath.Dir(*data), "predictions.jsonl")
		}
	}
	if *predsPath != "" {
		predsTarget = ""
	}
	if msg := clash(map[string]string{"--out": *out, "the predictions written": predsTarget},
		map[string]string{"--data": *data, "--pairs": *pairsPath, "--predictions": *predsPath, "--tasks": *tasksPath}); msg != "" {
		return c.usageErr("%s", msg)
	}
	f, err := os.Open(*data)
	if err != nil {
		return c.fail(err)
	}
	entries, err := match.ReadEntries(f)
	f.Close()
	if err != nil {
		return c.fail(fmt.Errorf("%s: %s", *data, strings.TrimPrefix(err.Error(), "match: ")))
	}
	tab, err := readPairsFile(*pairsPath)
	if err != nil {
		return c.fail(err)
	}

	var preds map[string]string
	if *predsPath != "" {
		pf, err := os.Open(*predsPath)
		if err != nil {
			return c.fail(err)
		}
		preds, err = match.ReadPredictions(pf, entries)
		pf.Close()
		if err != nil {
			return c.fail(fmt.Errorf("%s: %s", *predsPath, strings.TrimPrefix(err.Error(), "match: ")))
		}
		warnMissing(c.stderr, *predsPath, entries, preds)
	} else {
		cat, err := loadCatalogue(*tasksPath)
		if err != nil {
			return c.fail(err)
		}
		if preds, err = benchModel(c, *modelDir, adapters, entries, cat, predsTarget); err != nil {
			return c.fail(err)
		}
	}

	rep, err := match.Score(entries, preds, tab)
	if err != nil {
		return c.fail(err)
	}
	if err := rep.WriteTable(stdout); err != nil {
		return c.fail(err)
	}
	if *out != "" {
		if err := match.WriteJSONFile(*out, rep); err != nil {
			return c.fail(err)
		}
	}
	return 0
}

// warnMissing writes a warning to w when some entries have no prediction
// in preds (read from path). The metric counts them as invalid answers, as
// the benchmark defines it, so a predictions file that covers part of the
// test set still scores; the warning says how many entries that is, with
// the first few ids, so that a truncated or mismatched file is noticed.
func warnMissing(w io.Writer, path string, entries []match.Entry, preds map[string]string) {
	const show = 5
	var missing []string
	n := 0
	for _, e := range entries {
		if _, ok := preds[e.ID]; !ok {
			if n++; n <= show {
				missing = append(missing, e.ID)
			}
		}
	}
	if n == 0 {
		return
	}
	ids := strings.Join(missing, ", ")
	if n > show {
		ids += ", ..."
	}
	fmt.Fprintf(w, "taskmatch bench: warning: %d of %d test entries have no prediction in %s "+
		"(scored as invalid): %s\n", n, len(entries), path, ids)
}

// benchModel asks the model every entry, showing progress on stderr, and
// writes the predictions (with rankings) to path.
func benchModel(c *gdbmCmd, modelDir string, adapters []string, entries []match.Entry,
	cat match.TaskCatalogue, path string) (map[string]string, error) {
	asker, closer, err := openAsker(modelDir, adapters)
	if err != nil {
		return nil, err
	}
	if closer != nil {
		defer closer.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	start := time.Now()
	last := start
	progress := func(done int) {
		now := time.Now()
		if done < len(entries) && now.Sub(last) < time.Second {
			return
		}
		last = now
		fmt.Fprintln(c.stderr, progressLine(done, len(entries), now.Sub(start)))
	}
	bp, err := match.AskAll(ctx, asker, entries, cat, progress)
	if err != nil {
		return nil, err
	}
	preds := make(map[string]string, len(bp))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, p := range bp {
		preds[p.ID] = p.Answer
		if p.Error != "" {
			failed++
		}
		if err := enc.Encode(p); err != nil {
			return nil, err
		}
	}
	if failed > 0 {
		fmt.Fprintf(c.stderr, "taskmatch bench: %d entries failed (scored as invalid; see %s)\n", failed, path)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stderr, "taskmatch bench: predictions written to %s\n", path)
	return preds, nil
}

// progressLine says how far bench is: entries done, rate and time left.
func progressLine(done, total int, elapsed time.Duration) string {
	rate := float64(done) / max(elapsed.Seconds(), 1e-9)
	left := "?"
	if rate > 0 {
		left = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("bench: %d/%d entries (%.0f%%), %.1f entries/s, %s left",
		done, total, 100*float64(done)/float64(max(total, 1)), rate, left)
}
