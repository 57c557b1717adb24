package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/taskmatch/taskmatch/match"
)

func init() {
	register("reassign", "reassign each group to its top-k tasks and report the gain", runReassign)
}

func runReassign(args []string, stdout, stderr io.Writer) int {
	c := newGDBMCmd("reassign", "--pairs pairs.csv --out DIR [--top 3] [--model DIR] [--adapter DIR]", stderr)
	pairsPath := c.fs.String("pairs", "", "pairs.csv written by analyze (required)")
	out := c.fs.String("out", "", "output directory (required)")
	top := c.fs.Int("top", 3, "tasks per group after reassignment")
	modelDir := c.fs.String("model", "", "rank tasks with this model's /v1/choose ranking")
	var adapters multiFlag
	c.fs.Var(&adapters, "adapter", "LoRA adapter directory (repeatable)")
	lang := c.fs.String("lang", "en", "prompt language for the model: en or zh")
	tasksPath := c.fs.String("tasks", "", "task catalogue JSON for the model's prompts")
	if code, ok := c.parse(args); !ok {
		return code
	}
	if *pairsPath == "" || *out == "" {
		return c.usageErr("--pairs and --out are required")
	}
	if *top < 1 {
		return c.usageErr("--top must be at least 1")
	}
	if len(adapters) > 0 && *modelDir == "" {
		return c.usageErr("--adapter needs --model")
	}
	l, err := match.CheckLang(*lang)
	if err != nil {
		return c.usageErr("%s", err.Error()[len("match: "):])
	}
	tab, err := readPairsFile(*pairsPath)
	if err != nil {
		return c.fail(err)
	}
	var rank match.Ranker
	if *modelDir != "" {
		cat, err := loadCatalogue(*tasksPath)
		if err != nil {
			return c.fail(err)
		}
		asker, closer, err := openAsker(*modelDir, adapters)
		if err != nil {
			return c.fail(err)
		}
		if closer != nil {
			defer closer.Close()
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		rank = match.AskerRanker(ctx, asker, l, cat)
	}
	rows, sum, err := match.Reassign(tab, *top, rank)
	if err != nil {
		return c.fail(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return c.fail(err)
	}
	err = gdbmWriteFile(filepath.Join(*out, "reassign.csv"), func(w io.Writer) error {
		return match.WriteReassign(w, rows)
	})
	if err != nil {
		return c.fail(err)
	}
	if err := match.WriteJSONFile(filepath.Join(*out, "summary.json"), sum); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(stdout, "%d groups, top %d by %s: pass rate %.4f -> %.4f, EART %.4f -> %.4f; worse: %d (pass rate), %d (EART)\n",
		sum.Groups, sum.Top, sum.Source, sum.Before.PassRate, sum.After.PassRate,
		sum.Before.EART, sum.After.EART, sum.GroupsWorse.PassRate, sum.GroupsWorse.EART)
	return 0
}
