package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleRoot(t *testing.T) {
	root := ModuleRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(data), "module github.com/tinyforge/tinyforge-check\n") {
		t.Fatalf("ModuleRoot = %s: go.mod %q %v", root, data, err)
	}
	if filepath.Join(root, "internal", "testenv") != mustGetwd(t) {
		t.Errorf("ModuleRoot = %s is not two levels above this package", root)
	}
}

func TestFindModuleRootOutsideAModule(t *testing.T) {
	t.Chdir(t.TempDir())
	if root, err := FindModuleRoot(); err == nil {
		t.Errorf("FindModuleRoot in a temp dir = %s, want an error", root)
	}
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
