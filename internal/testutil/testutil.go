// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
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
