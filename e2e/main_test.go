// Package e2e proves the check against real components instead of the project's fakes: a real
// Gitea (code.gitea.io/gitea v1.26.0) on loopback, the composite action run by a real workflow
// runner (nektos/act v0.2.89, host mode), and the reference server as its own process.
//
// The tools are built by scripts/tools.sh into TINYFORGE_TOOLS_BIN (default
// ~/.cache/tinyforge-check/tools/bin). Without them these tests skip and say how to get them;
// with CI=true they are required. Every process listens on 127.0.0.1 only and is stopped by its
// PID when the tests end.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// world is what TestMain started for the whole package; nil when the tools are missing.
type world struct {
	root   string // the module root
	tools  string // the folder with act, gitea, ...
	gitea  *gitea
	bins   string // tinyforge-check (stamped e2eVersion) and tinyforge-server, built once
	tmp    string
	failed string // why the world could not start, for requireWorld
}

// e2eVersion is the release version the e2e binaries are stamped with.
const e2eVersion = "0.0.0-e2e"

var w world

func TestMain(m *testing.M) {
	code := func() int {
		tmp, err := os.MkdirTemp("", "tinyforge-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		w.tmp = tmp
		if w.root, err = testenv.FindModuleRoot(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// The binaries come first: the tests of the demo and of the docs' command blocks need
		// only them, not Gitea or act.
		if err := buildBinaries(filepath.Join(tmp, "bin")); err != nil {
			w.failed = err.Error()
			return m.Run()
		}
		w.bins = filepath.Join(tmp, "bin")
		w.tools = testenv.ToolsBin()
		if missing := missingTools(w.tools, "gitea", "act"); missing != "" {
			w.failed = missing
			return m.Run()
		}
		g, err := startGitea(filepath.Join(w.tools, "gitea"), filepath.Join(tmp, "gitea"))
		if err != nil {
			w.failed = "start gitea: " + err.Error()
			return m.Run()
		}
		defer g.stop()
		w.gitea = g
		return m.Run()
	}()
	os.Exit(code)
}

// requireWorld skips the test when the real components are missing, or fails it under CI=true.
func requireWorld(t *testing.T) {
	t.Helper()
	if w.gitea != nil {
		return
	}
	msg := "real Gitea and act are not available (" + w.failed + "); build them with `bash scripts/tools.sh` (about 10 minutes once) or run bash .ci/run"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// requireBinaries fails the test when the two commands could not be built; the tests that
// need only them (the demo, the docs' command blocks) run without Gitea and act.
func requireBinaries(t *testing.T) {
	t.Helper()
	if w.bins == "" {
		t.Fatalf("the binaries could not be built: %s", w.failed)
	}
}

func missingTools(dir string, names ...string) string {
	var missing []string
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err != nil || fi.Mode()&0o111 == 0 {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return strings.Join(missing, " and ") + " not found in " + dir
}

// buildBinaries builds both commands as the release does (static, stamped).
func buildBinaries(dir string) error {
	for _, cmd := range []string{"tinyforge-check", "tinyforge-server"} {
		if err := testenv.BuildStamped(w.root, cmd, e2eVersion, filepath.Join(dir, cmd)); err != nil {
			return err
		}
	}
	return nil
}
