package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/taskmatch/taskmatch/match"
)

// newAsker loads a matching model for bench and reassign: modelDir with the
// given LoRA adapters. The model wiring sets it; nil means model support is
// not wired in this build, and --model is then an error.
var newAsker func(modelDir string, adapters []string) (match.Asker, io.Closer, error)

// multiFlag (a repeatable string flag) is declared in flags.go.

// gdbmCmd holds what the GDBM commands share: their name, streams and flags.
type gdbmCmd struct {
	name   string
	stderr io.Writer
	fs     *flag.FlagSet
}

func newGDBMCmd(name, usage string, stderr io.Writer) *gdbmCmd {
	fs := flag.NewFlagSet("taskmatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: taskmatch %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return &gdbmCmd{name: name, stderr: stderr, fs: fs}
}

// parse parses args; it returns an exit code and false when the command
// must stop (2 for a usage error, 0 for -h).
func (c *gdbmCmd) parse(args []string) (int, bool) {
	return parseFlags(c.fs, args)
}

// usageErr reports a usage error and returns 2.
func (c *gdbmCmd) usageErr(format string, a ...any) int {
	return usagef(c.fs, format, a...)
}

// fail reports an error and returns 1. The "match: " prefix of package
// errors is dropped, the command name says where it comes from.
func (c *gdbmCmd) fail(err error) int {
	fmt.Fprintf(c.stderr, "taskmatch %s: %s\n", c.name, strings.TrimPrefix(err.Error(), "match: "))
	return 1
}

// readPairsFile reads pairs.csv from path.
func readPairsFile(path string) (*match.PairTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := match.ReadPairs(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "match: "))
	}
	return t, nil
}

// loadCatalogue reads a task catalogue, or returns an empty one for "".
func loadCatalogue(path string) (match.TaskCatalogue, error) {
	if path == "" {
		return match.TaskCatalogue{}, nil
	}
	return match.ReadTaskCatalogue(path)
}

// openAsker loads the model through newAsker.
func openAsker(modelDir string, adapters []string) (match.Asker, io.Closer, error) {
	if newAsker == nil {
		return nil, nil, errors.New("model support is not wired into this build (--model needs the engine)")
	}
	return newAsker(modelDir, adapters)
}

// gdbmWriteFile creates path and writes it with write.
func gdbmWriteFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
