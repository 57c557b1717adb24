package main

import (
	"encoding/json"
	"io"

	"github.com/taskmatch/taskmatch/match"
)

func init() { register("simulate", "write a synthetic platform log", runSimulate) }

// simTaskJSON is a catalogue entry of --tasks-out.
type simTaskJSON struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Example     string      `json:"example"`
	Cash        json.Number `json:"cash"`
	Points      int64       `json:"points"`
}

func runSimulate(args []string, stdout, stderr io.Writer) int {
	c := newGDBMCmd("simulate", "--seed N --out log.csv [--tasks-out tasks.json]", stderr)
	seed := c.fs.Int64("seed", 42, "random seed; the same seed gives the same log")
	out := c.fs.String("out", "", "log CSV to write (required)")
	tasksOut := c.fs.String("tasks-out", "", "also write the 43-task catalogue as JSON")
	if code, ok := c.parse(args); !ok {
		return code
	}
	if *out == "" {
		return c.usageErr("--out is required")
	}
	if samePath(*out, *tasksOut) {
		return c.usageErr("--out and --tasks-out name the same file %s", *out)
	}
	subs := match.Simulate(*seed)
	if err := gdbmWriteFile(*out, func(w io.Writer) error { return match.WriteLog(w, subs) }); err != nil {
		return c.fail(err)
	}
	if *tasksOut != "" {
		var cat []simTaskJSON
		for _, t := range match.SimTasks() {
			cat = append(cat, simTaskJSON{t.Name, t.Description, t.Example,
				json.Number(match.FormatCents(t.CashCents)), t.Points})
		}
		if err := match.WriteJSONFile(*tasksOut, cat); err != nil {
			return c.fail(err)
		}
	}
	return 0
}
