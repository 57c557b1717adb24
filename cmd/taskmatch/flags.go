package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/taskmatch/taskmatch/engine"
)

// multiFlag collects a repeatable string flag such as --adapter.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("taskmatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// usagef prints a usage error and the command's flags and returns exit
// code 2.
func usagef(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return 2
}

// failf prints a command's error and returns exit code 1.
func failf(stderr io.Writer, cmd string, format string, args ...any) int {
	fmt.Fprintf(stderr, "taskmatch %s: %s\n", cmd, fmt.Sprintf(format, args...))
	return 1
}

// engineFlags are the engine options shared by serve and score.
type engineFlags struct {
	context     *int
	mergedDType *string
}

func addEngineFlags(fs *flag.FlagSet) engineFlags {
	return engineFlags{
		context: fs.Int("context", 0, "positions per sequence: prompt plus the longest option (0: the model's, at most 4096)"),
		mergedDType: fs.String("merged-dtype", "auto",
			`dtype of the matrices an adapter changes: "f32" (exact), "base" (the checkpoint's dtype, half the memory) `+
				`or "auto" (f32 when it takes at most half the available memory)`),
	}
}

// apply sets the options from the flags.
func (f engineFlags) apply(o *engine.Options) error {
	o.Context = *f.context
	switch *f.mergedDType {
	case engine.MergedAuto, engine.MergedF32, engine.MergedBase:
		o.MergedDType = *f.mergedDType
	default:
		return fmt.Errorf("--merged-dtype must be auto, f32 or base, got %q", *f.mergedDType)
	}
	return nil
}
