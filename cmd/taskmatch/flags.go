package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
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

// failf prints a command's error and returns exit code 1.
func failf(stderr io.Writer, cmd string, format string, args ...any) int {
	fmt.Fprintf(stderr, "taskmatch %s: %s\n", cmd, fmt.Sprintf(format, args...))
	return 1
}
