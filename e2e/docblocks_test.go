package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// docBlock is one shell code block of the docs, with the marker line before it.
type docBlock struct {
	file string // relative to the module root
	line int    // of the opening fence
	// test is what the marker says: the name of the test that runs the block, or "not
	// runnable: reason"; "" when there is no marker.
	test string
	text string
}

// docTestMarker is the comment that must precede every shell block of the docs.
var docTestMarker = regexp.MustCompile(`^<!-- doc-test: (.+) -->$`)

// shellBlocks returns every ```sh, ```bash, ```shell and ```console block of README.md and
// docs/*.md.
func shellBlocks(t *testing.T, root string) []docBlock {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	var out []docBlock
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			fence := strings.TrimSpace(lines[i])
			if !strings.HasPrefix(fence, "```") {
				continue
			}
			lang := strings.TrimPrefix(fence, "```")
			end := i + 1
			for end < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[end]), "```") {
				end++
			}
			if lang == "sh" || lang == "bash" || lang == "shell" || lang == "console" {
				b := docBlock{file: rel, line: i + 1, text: strings.Join(lines[i+1:min(end, len(lines))], "\n") + "\n"}
				if i > 0 {
					if m := docTestMarker.FindStringSubmatch(strings.TrimSpace(lines[i-1])); m != nil {
						b.test = m[1]
					}
				}
				out = append(out, b)
			}
			i = end
		}
	}
	return out
}

// TestDocCommandBlocksAccounted: every command block of the README and the docs says, in the
// comment before it, which test runs it (and that test exists), or why it is not runnable. A
// block added without either fails here, so no command in the docs goes untested by accident.
func TestDocCommandBlocksAccounted(t *testing.T) {
	root := testenv.ModuleRoot(t)
	tests := testNames(t, root)
	blocks := shellBlocks(t, root)
	if len(blocks) < 10 {
		t.Fatalf("found only %d command blocks", len(blocks))
	}
	for _, b := range blocks {
		switch {
		case b.test == "":
			t.Errorf("%s:%d: a command block without <!-- doc-test: TestName --> or <!-- doc-test: not runnable: reason --> before it", b.file, b.line)
		case strings.HasPrefix(b.test, "not runnable: "):
			if len(strings.TrimPrefix(b.test, "not runnable: ")) < 10 {
				t.Errorf("%s:%d: say why the block is not runnable", b.file, b.line)
			}
		default:
			name, _, _ := strings.Cut(b.test, " ")
			if !tests[name] {
				t.Errorf("%s:%d: the block names %s, which is no test of this module", b.file, b.line, name)
			}
		}
	}
}

// testNames is the set of Test functions in the module's _test.go files.
func testNames(t *testing.T, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	re := regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(data), -1) {
				names[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// quickStartScript is a block that starts the reference server, as the test runs it: the
// binary built for the tests instead of go run, go build or one on PATH; the server on addr,
// in the background, waited for; its log in serve.log.
func quickStartScript(block, addr string) string {
	var out []string
	for _, line := range strings.Split(block, "\n") {
		switch {
		case strings.HasPrefix(line, "go build -o bin/tinyforge-server"):
			continue // the test's binary is that build
		case strings.Contains(line, "tinyforge-server serve"):
			cmd, _, _ := strings.Cut(line, "  #") // the trailing comment
			out = append(out, strings.TrimSpace(cmd)+" > serve.log 2>&1 &",
				fmt.Sprintf("for i in $(seq 300); do curl -sf http://%s/healthz > /dev/null && break; sleep 0.1; done", addr))
			continue
		}
		out = append(out, line)
	}
	s := strings.Join(out, "\n")
	s = strings.ReplaceAll(s, "go run ./cmd/tinyforge-server", `"$TFS"`)
	s = strings.ReplaceAll(s, "bin/tinyforge-server", `"$TFS"`)
	s = regexp.MustCompile(`(?m)^tinyforge-server `).ReplaceAllString(s, `"$$TFS" `)
	return strings.ReplaceAll(s, "127.0.0.1:8080", addr)
}

// TestQuickStartBlocks runs the blocks that start the reference server (README, panel.md,
// tinyforge-api.md) as a reader pastes them, one file's blocks after another in a fresh folder,
// with the built binary and a free port: the tokens print, the server answers, and panel.md's
// curl creates the workload.
func TestQuickStartBlocks(t *testing.T) {
	requireBinaries(t)
	byFile := map[string][]docBlock{}
	var order []string
	for _, b := range shellBlocks(t, w.root) {
		if b.test == "TestQuickStartBlocks" {
			if byFile[b.file] == nil {
				order = append(order, b.file)
			}
			byFile[b.file] = append(byFile[b.file], b)
		}
	}
	want := map[string][]string{
		"README.md":             {"tfk_"},
		"docs/panel.md":         {"admin token: tfk_", `"name":"api"`, `"source_type":"dockerfile"`},
		"docs/tinyforge-api.md": {"tfk_"},
	}
	if len(order) != len(want) {
		t.Fatalf("blocks marked TestQuickStartBlocks are in %v, want %d files", order, len(want))
	}
	for _, file := range order {
		t.Run(file, func(t *testing.T) {
			port, err := testenv.FreeLoopbackPort()
			if err != nil {
				t.Fatal(err)
			}
			addr := "127.0.0.1:" + strconv.Itoa(port)
			var script strings.Builder
			for _, b := range byFile[file] {
				script.WriteString(quickStartScript(b.text, addr) + "\n")
			}
			dir := t.TempDir()
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", script.String())
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TFS="+filepath.Join(w.bins, "tinyforge-server"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			err = cmd.Start()
			if err == nil {
				err = cmd.Wait()
				syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the server the block left running
			}
			log, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
			if err != nil {
				t.Fatalf("the blocks of %s failed: %v\nscript:\n%s\noutput:\n%s\nserver log:\n%s", file, err, script.String(), &buf, log)
			}
			for _, s := range want[file] {
				if !strings.Contains(buf.String(), s) {
					t.Errorf("the blocks of %s printed no %q:\n%s\nserver log:\n%s", file, s, &buf, log)
				}
			}
			if !strings.Contains(string(log), addr) {
				t.Errorf("the server of %s did not say it listens on %s:\n%s", file, addr, log)
			}
		})
	}
}

// TestCLIDocBlocks runs docs/action.md's local drift block from the module root with the built
// tinyforge-check: it prints the comment the action would post and exits 1 (the sample drifts).
func TestCLIDocBlocks(t *testing.T) {
	requireBinaries(t)
	n := 0
	for _, b := range shellBlocks(t, w.root) {
		if b.test != "TestCLIDocBlocks" {
			continue
		}
		n++
		script := strings.ReplaceAll(b.text, "go run ./cmd/tinyforge-check", `"$TFC"`)
		cmd := exec.Command("bash", "-uo", "pipefail", "-c", script)
		cmd.Dir = w.root
		cmd.Env = append(os.Environ(), "TFC="+filepath.Join(w.bins, "tinyforge-check"))
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "### ⚠️ Tinyforge GitOps: drift") {
			t.Errorf("%s:%d: exit %v, want 1 with the drift comment:\n%s", b.file, b.line, err, out)
		}
	}
	if n == 0 {
		t.Fatal("no block is marked TestCLIDocBlocks")
	}
}
