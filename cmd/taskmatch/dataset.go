package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/taskmatch/taskmatch/match"
)

func init() {
	register("dataset", "build the four matching datasets and the instruction data", runDataset)
}

func runDataset(args []string, stdout, stderr io.Writer) int {
	c := newGDBMCmd("dataset", "--pairs DIR/pairs.csv --out DIR [--seed 42] [--lang en|zh] [--templates FILE] [--tasks tasks.json]", stderr)
	pairsPath := c.fs.String("pairs", "", "pairs.csv written by analyze (required)")
	out := c.fs.String("out", "", "output directory (required)")
	seed := c.fs.Int64("seed", 42, "random seed for drawing, shuffling and splitting")
	lang := c.fs.String("lang", "en", "prompt language: en or zh")
	tplPath := c.fs.String("templates", "", "JSON file replacing prompt templates")
	tasksPath := c.fs.String("tasks", "", "task catalogue JSON (names, descriptions, examples)")
	if code, ok := c.parse(args); !ok {
		return code
	}
	if *pairsPath == "" || *out == "" {
		return c.usageErr("--pairs and --out are required")
	}
	if samePath(*out, filepath.Dir(*pairsPath)) {
		return c.usageErr("--out %s is analyze's folder: its summary.json would be replaced; choose another folder", *out)
	}
	l, err := match.CheckLang(*lang)
	if err != nil {
		return c.usageErr("%s", err.Error()[len("match: "):])
	}
	tpl := match.DefaultTemplates()
	if *tplPath != "" {
		if tpl, err = match.LoadTemplates(*tplPath); err != nil {
			return c.fail(err)
		}
	}
	cat, err := loadCatalogue(*tasksPath)
	if err != nil {
		return c.fail(err)
	}
	tab, err := readPairsFile(*pairsPath)
	if err != nil {
		return c.fail(err)
	}
	sets, err := match.BuildDatasets(tab, match.DatasetOptions{Seed: *seed, Lang: l})
	if err != nil {
		return c.fail(err)
	}
	if err := match.WriteDatasets(*out, sets, *seed, l, tpl, cat); err != nil {
		return c.fail(err)
	}
	for _, ds := range sets {
		fmt.Fprintf(stdout, "%-8s target %5d possible %6d entries %5d train %5d test %4d\n",
			ds.Name, ds.Target, ds.Possible, len(ds.Entries), len(ds.Train), len(ds.Test))
	}
	return 0
}
