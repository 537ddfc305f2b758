package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// precommitHook is one entry of .pre-commit-hooks.yaml, with the keys pre-commit reads.
type precommitHook struct {
	ID            string `yaml:"id"`
	Name          string `yaml:"name"`
	Description   string `yaml:"description"`
	Language      string `yaml:"language"`
	Entry         string `yaml:"entry"`
	Files         string `yaml:"files"`
	PassFilenames *bool  `yaml:"pass_filenames"`
	RequireSerial bool   `yaml:"require_serial"`
}

// readPrecommitHooks parses the repository's .pre-commit-hooks.yaml strictly: an unknown or
// misspelled key fails the test rather than being silently ignored by pre-commit.
func readPrecommitHooks(t *testing.T) []precommitHook {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatalf("read .pre-commit-hooks.yaml: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var hooks []precommitHook
	if err := dec.Decode(&hooks); err != nil {
		t.Fatalf(".pre-commit-hooks.yaml is not a list of hooks: %v", err)
	}
	return hooks
}

func TestPrecommitHookDefinition(t *testing.T) {
	hooks := readPrecommitHooks(t)
	if len(hooks) != 1 {
		t.Fatalf("want exactly one hook, got %d", len(hooks))
	}
	h := hooks[0]
	got := map[string]any{"id": h.ID, "language": h.Language, "entry": h.Entry, "files": h.Files, "pass_filenames": h.PassFilenames != nil && *h.PassFilenames}
	want := map[string]any{"id": "tinyforge-check-lint", "language": "golang", "entry": "tinyforge-check lint", "files": `(^|/)\.tinyforge\.ya?ml$`, "pass_filenames": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hook (-want +got):\n%s", diff)
	}
	if h.Name == "" || h.Description == "" {
		t.Errorf("hook needs a name and a description for pre-commit's output, got %q, %q", h.Name, h.Description)
	}

	// The entry is the binary `go install ./...` builds from cmd/tinyforge-check, then an
	// existing subcommand.
	words := strings.Fields(h.Entry)
	if len(words) < 2 || words[0] != filepath.Base(mustGetwd(t)) {
		t.Fatalf("entry %q must start with the binary name %q and a subcommand", h.Entry, filepath.Base(mustGetwd(t)))
	}
	if _, ok := (&Command{}).subcommands()[words[1]]; !ok {
		t.Errorf("entry %q names no subcommand of tinyforge-check", h.Entry)
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// TestPrecommitHookFiles checks which paths the hook's files pattern selects. pre-commit
// matches it with Python's re.search; the pattern uses only syntax Go's regexp shares.
func TestPrecommitHookFiles(t *testing.T) {
	hooks := readPrecommitHooks(t)
	if len(hooks) == 0 {
		t.Fatal("no hook")
	}
	re, err := regexp.Compile(hooks[0].Files)
	if err != nil {
		t.Fatalf("files pattern does not compile: %v", err)
	}
	tests := map[string]bool{
		".tinyforge.yml":              true,
		".tinyforge.yaml":             true,
		"services/web/.tinyforge.yml": true,
		"a/.tinyforge.yaml":           true,
		"tinyforge.yml":               false,
		"x.tinyforge.yml":             false,
		".tinyforge.yml.bak":          false,
		".tinyforge.json":             false,
		"docs/.tinyforge.ymlx":        false,
		".tinyforgexyml":              false,
	}
	got := map[string]bool{}
	for path := range tests {
		got[path] = re.MatchString(path)
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("files pattern matches (-want +got):\n%s", diff)
	}
}

// TestPrecommitHookEntryRuns runs the hook's entry the way pre-commit does, with the staged
// file names appended, and checks the exit codes pre-commit turns into pass and fail.
func TestPrecommitHookEntryRuns(t *testing.T) {
	hooks := readPrecommitHooks(t)
	if len(hooks) == 0 {
		t.Fatal("no hook")
	}
	args := strings.Fields(hooks[0].Entry)[1:]
	testdata := filepath.Join("..", "..", "testdata")
	tests := []struct {
		name     string
		files    []string
		wantCode int
		wantOut  string // substring of stdout
	}{
		{"valid files pass", []string{filepath.Join(testdata, "valid", "full.yml"), filepath.Join(testdata, "valid", "strategy-only.yml")}, ExitOK, "2 files: no problems\n"},
		{"an invalid file fails at its line", []string{filepath.Join(testdata, "valid", "full.yml"), filepath.Join(testdata, "invalid", "port-quoted.yml")}, ExitFailed, "port-quoted.yml:3:9: error: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			c := &Command{
				Stdin:  strings.NewReader(""),
				Stdout: &stdout,
				Stderr: &stderr,
				Getenv: func(string) string { return "" },
				Open:   func(name string) (fs.File, error) { return os.Open(name) },
				Lstat:  os.Lstat,
			}
			code := c.Main(append(append([]string(nil), args...), tt.files...))
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if tt.wantCode == ExitOK && stdout.String() != tt.wantOut {
				t.Errorf("want only the summary %q for valid files, got:\n%s", tt.wantOut, stdout.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantOut, stdout.String())
			}
		})
	}
}
