// Package testenv holds what several packages' tests need about the checkout they run in.
// Only tests and test fakes (internal/forgefake) import it.
package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FindModuleRoot returns the folder holding go.mod, walking up from the working directory (a
// test's working directory is its package's folder).
func FindModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run the tests from inside the module")
		}
		dir = parent
	}
}

// ModuleRoot is FindModuleRoot for a test, which it fails when there is no module.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	root, err := FindModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}
