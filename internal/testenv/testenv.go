// Package testenv holds what several packages' tests need about the checkout they run in and
// the tools beside it.
// Tests and the fakes (internal/forgefake) import it; it does not import package testing, so
// the server's demo, which serves a fake forge, does not link the test framework.
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

// TB is the part of testing.TB that the helpers here use.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// ModuleRoot is FindModuleRoot for a test, which it fails when there is no module.
func ModuleRoot(tb TB) string {
	tb.Helper()
	root, err := FindModuleRoot()
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return root
}

// ToolsBin is the folder scripts/tools.sh builds the pinned tools into (gitea, act,
// toxiproxy-server, ...): $TINYFORGE_TOOLS_BIN, else $TINYFORGE_TOOLS/bin, else
// ~/.cache/tinyforge-check/tools/bin.
func ToolsBin() string {
	if d := os.Getenv("TINYFORGE_TOOLS_BIN"); d != "" {
		return d
	}
	if d := os.Getenv("TINYFORGE_TOOLS"); d != "" {
		return filepath.Join(d, "bin")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "tinyforge-check", "tools", "bin")
}

// FreeLoopbackPort asks the kernel for a port on 127.0.0.1 that is free now.
func FreeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// BuildStamped builds the command in cmd/NAME of the module at root into out, static and
// stamped with version as the release build does (.goreleaser.yaml).
func BuildStamped(root, name, version, out string) error {
	c := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -X github.com/tinyforge/tinyforge-check/internal/buildinfo.stamped="+version,
		"-o", out, "./cmd/"+name)
	c.Dir = root
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", name, err, b)
	}
	return nil
}
