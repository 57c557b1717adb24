package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// parseFlags parses args; when it returns false the command ends with rc:
// 0 after -h or --help (the flags were printed), 2 after a bad flag, or an
// argument that is not a flag.
func parseFlags(fs *flag.FlagSet, args []string) (rc int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		return usagef(fs, "unexpected argument %q", fs.Arg(0)), false
	}
	return 0, true
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

// check returns a usage error for a flag out of range, or "".
func (f engineFlags) check() string {
	switch *f.mergedDType {
	case engine.MergedAuto, engine.MergedF32, engine.MergedBase:
	default:
		return fmt.Sprintf("--merged-dtype must be auto, f32 or base, got %q", *f.mergedDType)
	}
	if *f.context < 0 {
		return fmt.Sprintf("--context must be 0 (the model's) or more, got %d", *f.context)
	}
	return ""
}

// apply sets the options from the flags, which check has accepted.
func (f engineFlags) apply(o *engine.Options) {
	o.Context = *f.context
	o.MergedDType = *f.mergedDType
}

// samePath reports whether two paths name the same file: the same file on
// disk when both exist (links included), else the same absolute path.
func samePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ai, aerr := os.Stat(a)
	bi, berr := os.Stat(b)
	if aerr == nil && berr == nil {
		return os.SameFile(ai, bi)
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// clash returns a message when an output path names one of the inputs (or
// another output), which writing it would destroy.
func clash(outputs, inputs map[string]string) string {
	for on, o := range outputs {
		for in, i := range inputs {
			if samePath(o, i) {
				return fmt.Sprintf("%s and %s name the same file %s", on, in, o)
			}
		}
		for on2, o2 := range outputs {
			if on < on2 && samePath(o, o2) {
				return fmt.Sprintf("%s and %s name the same file %s", on, on2, o)
			}
		}
	}
	return ""
}
