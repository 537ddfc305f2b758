package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// run executes the CLI in-process with the given environment and files, returning the exit
// code, stdout and stderr. Files are read from the real disk unless memFS has them.
func run(t *testing.T, env map[string]string, memFS fstest.MapFS, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return runOn(t, false, env, memFS, stdin, args...)
}

// runOn is run with standard output on a terminal (Command.IsTerminal says so) or not.
func runOn(t *testing.T, terminal bool, env map[string]string, memFS fstest.MapFS, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &Command{
		IsTerminal: func(w io.Writer) bool { return terminal && w == &stdout },
		Stdin:      strings.NewReader(stdin),
		Stdout:     &stdout,
		Stderr:     &stderr,
		Getenv:     func(k string) string { return env[k] },
		Open: func(name string) (fs.File, error) {
			if memFS != nil {
				return memFS.Open(name)
			}
			return os.Open(name)
		},
		Lstat: func(name string) (fs.FileInfo, error) {
			if memFS != nil {
				return fs.Lstat(memFS, name)
			}
			return os.Lstat(name)
		},
	}
	code := c.Main(args)
	return code, stdout.String(), stderr.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (go test ./cmd/tinyforge-check -update creates it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

var lintFiles = []string{
	"../../testdata/valid/full.yml",
	"../../testdata/invalid/many-problems.yml",
	"../../testdata/invalid/no-fields.yml",
	"../../testdata/invalid/empty.yml",
}

func TestLintFormatsGolden(t *testing.T) {
	for _, format := range []string{"text", "json", "github", "sarif"} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := run(t, nil, nil, "", append([]string{"lint", "--format", format}, lintFiles...)...)
			if code != ExitFailed {
				t.Errorf("exit code %d, want %d (stderr %q)", code, ExitFailed, errOut)
			}
			golden(t, "lint."+format+".golden", out)
		})
	}
}

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %s", raw)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestLintJSONShape pins the exact shape of docs/design.md (The check): {"files":[{"path","valid","diagnostics":[...]}]}.
func TestLintJSONShape(t *testing.T) {
	_, out, _ := run(t, nil, nil, "", "lint", "--format", "json", "../../testdata/invalid/unknown-keys.yml", "../../testdata/valid/full.yml")
	var doc struct {
		Files []json.RawMessage `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"files"}, keysOf(t, json.RawMessage(out))); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	if len(doc.Files) != 2 {
		t.Fatalf("want 2 files, got %d", len(doc.Files))
	}
	for _, f := range doc.Files {
		if diff := cmp.Diff([]string{"diagnostics", "path", "valid"}, keysOf(t, f)); diff != "" {
			t.Errorf("file keys (-want +got):\n%s", diff)
		}
		var file struct {
			Diagnostics []json.RawMessage `json:"diagnostics"`
		}
		json.Unmarshal(f, &file)
		for _, d := range file.Diagnostics {
			if diff := cmp.Diff([]string{"code", "column", "field", "line", "message", "severity"}, keysOf(t, d)); diff != "" {
				t.Errorf("diagnostic keys (-want +got):\n%s", diff)
			}
		}
	}
	if !strings.Contains(out, `"diagnostics": []`) {
		t.Errorf("a clean file must have an empty diagnostics array, not null:\n%s", out)
	}
}

func TestDriftJSONShape(t *testing.T) {
	code, out, errOut := run(t, nil, nil, "", "drift", "--format", "json", "--source-type", "dockerfile",
		"--live", "../../testdata/sample/live.json", "../../testdata/sample/.tinyforge.yml")
	if code != ExitFailed {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitFailed, errOut)
	}
	if diff := cmp.Diff([]string{"diagnostics", "drift", "managed_fields", "path", "source_type", "sync", "valid"}, keysOf(t, json.RawMessage(out))); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	var r struct {
		Drift []json.RawMessage `json:"drift"`
		Sync  json.RawMessage   `json:"sync"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"error", "valid"}, keysOf(t, r.Sync)); diff != "" {
		t.Errorf("sync keys (-want +got):\n%s", diff)
	}
	if len(r.Drift) != 2 {
		t.Fatalf("want 2 drift entries, got %s", out)
	}
	for _, d := range r.Drift {
		if diff := cmp.Diff([]string{"field", "live_value", "repo_value"}, keysOf(t, d)); diff != "" {
			t.Errorf("drift keys (-want +got):\n%s", diff)
		}
	}
	golden(t, "drift.json.golden", out)
}

func TestDriftTextGolden(t *testing.T) {
	_, out, _ := run(t, nil, nil, "", "drift", "--source-type", "dockerfile", "--live", "../../testdata/sample/live.json", "../../testdata/sample/.tinyforge.yml")
	golden(t, "drift.text.golden", out)
}

func TestExitCodes(t *testing.T) {
	mem := fstest.MapFS{
		"ok.yml":         {Data: []byte("version: 1\ndeploy:\n  port: 8080\n")},
		"warn.yml":       {Data: []byte("version: 1\n")},
		"bad.yml":        {Data: []byte("version: 2\n")},
		"static.yml":     {Data: []byte("version: 1\ndeploy:\n  port: 8080\n")},
		"live.json":      {Data: []byte(`{"port": 8080}`)},
		"drifted.json":   {Data: []byte(`{"port": 80}`)},
		"list.json":      {Data: []byte(`[1]`)},
		"broken.json":    {Data: []byte(`{"port":`)},
		".tinyforge.yml": {Data: []byte("version: 1\ndeploy:\n  port: 8080\n")},
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"lint valid", []string{"lint", "ok.yml"}, ExitOK},
		{"lint default path", []string{"lint"}, ExitOK},
		{"lint warning only", []string{"lint", "warn.yml"}, ExitOK},
		{"lint invalid", []string{"lint", "bad.yml"}, ExitFailed},
		{"lint one of two invalid", []string{"lint", "ok.yml", "bad.yml"}, ExitFailed},
		{"lint missing file", []string{"lint", "nope.yml"}, ExitFailed},
		{"lint static with port", []string{"lint", "--source-type", "static", "static.yml"}, ExitFailed},
		{"lint unknown source type", []string{"lint", "--source-type", "compose", "ok.yml"}, ExitUsage},
		{"lint bad format", []string{"lint", "--format", "xml", "ok.yml"}, ExitUsage},
		{"lint unknown flag", []string{"lint", "--frmat", "json"}, ExitUsage},
		{"lint flag after the path", []string{"lint", "bad.yml", "--format", "json"}, ExitFailed},
		{"lint operand after --", []string{"lint", "--", "ok.yml"}, ExitOK},
		{"drift flag after the path", []string{"drift", "ok.yml", "--live", "drifted.json"}, ExitFailed},
		{"drift in sync", []string{"drift", "--live", "live.json", "ok.yml"}, ExitOK},
		{"drift differs", []string{"drift", "--live", "drifted.json", "ok.yml"}, ExitFailed},
		{"drift invalid file", []string{"drift", "--live", "live.json", "bad.yml"}, ExitFailed},
		{"drift missing file", []string{"drift", "--live", "live.json", "nope.yml"}, ExitFailed},
		{"drift missing live", []string{"drift", "--live", "nope.json", "ok.yml"}, ExitUsage},
		{"drift live not an object", []string{"drift", "--live", "list.json", "ok.yml"}, ExitUsage},
		{"drift live broken", []string{"drift", "--live", "broken.json", "ok.yml"}, ExitUsage},
		{"drift without live", []string{"drift", "ok.yml"}, ExitUsage},
		{"drift two files", []string{"drift", "--live", "live.json", "ok.yml", "ok.yml"}, ExitUsage},
		{"no command", nil, ExitUsage},
		{"unknown command", []string{"frobnicate"}, ExitUsage},
		{"version", []string{"version"}, ExitOK},
		{"schema", []string{"schema"}, ExitOK},
		{"schema with an argument", []string{"schema", "x"}, ExitUsage},
		{"help", []string{"help"}, ExitOK},
		{"help lint", []string{"help", "lint"}, ExitOK},
		{"help unknown", []string{"help", "nope"}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, nil, mem, "", tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.want, out, errOut)
			}
		})
	}
}

// TestFlagsAfterOperands: a flag after a path is a flag, not a file name.
func TestFlagsAfterOperands(t *testing.T) {
	mem := fstest.MapFS{"a.yml": {Data: []byte("version: 2\n")}}
	code, out, errOut := run(t, nil, mem, "", "lint", "a.yml", "--format", "json")
	if code != ExitFailed || !strings.HasPrefix(out, "{") || strings.Contains(out, "--format") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}

func TestLintStdin(t *testing.T) {
	code, out, _ := run(t, nil, nil, "version: 1\ndeploy:\n  prot: 1\n", "lint", "-")
	if code != ExitFailed || !strings.HasPrefix(out, "-:3:3: error: unknown key \"prot\"; did you mean \"port\"?") {
		t.Errorf("exit %d, output %q", code, out)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, cmd := range []string{"lint", "drift"} {
		code, out, errOut := run(t, nil, nil, "", cmd, "--help")
		if code != ExitOK || !strings.Contains(out, "Usage: tinyforge-check "+cmd) || !strings.Contains(out, "Exit codes") || errOut != "" {
			t.Errorf("%s --help: exit %d\nstdout %q\nstderr %q", cmd, code, out, errOut)
		}
		if !strings.Contains(out, "-format") {
			t.Errorf("%s --help does not list its flags:\n%s", cmd, out)
		}
	}
}

func TestSchemaCommandPrintsTheSchema(t *testing.T) {
	code, out, _ := run(t, nil, nil, "", "schema")
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); code != ExitOK || err != nil {
		t.Fatalf("exit %d, not JSON: %v", code, err)
	}
	if doc["$id"] != "https://github.com/tinyforge/tinyforge-check/schema/tinyforge.schema.json" {
		t.Errorf("$id = %v", doc["$id"])
	}
}

func TestUsageErrorsSayWhatToDo(t *testing.T) {
	_, _, errOut := run(t, nil, nil, "", "drift", "ok.yml")
	if !strings.Contains(errOut, "--live FILE.json is required") || !strings.Contains(errOut, `tinyforge-check help drift`) {
		t.Errorf("stderr %q", errOut)
	}
}

// TestUntrustedTextCannotFormCommands lints a file whose keys and values try to start workflow
// commands or break lines, in every format, and checks no output line is a command that the
// tool did not write itself.
func TestUntrustedTextCannotFormCommands(t *testing.T) {
	hostile := "version: 1\n\"x\\n::set-output name=a::b\": 1\ndeploy:\n  deploy_strategy: \"r\\r\\n::add-mask::%0Afoo,bar:baz\"\n  \"\\u2028::warning::x\": 2\n"
	mem := fstest.MapFS{"h.yml": {Data: []byte(hostile)}}
	for _, format := range []string{"text", "github", "json", "sarif"} {
		_, out, _ := run(t, nil, mem, "", "lint", "--format", format, "h.yml")
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if format == "text" && (len(lines) != 4 || lines[3] != "1 file: 3 errors") {
			t.Errorf("text: want 3 lines (one per problem) and the summary, got %d:\n%s", len(lines), out)
		}
		for _, line := range lines {
			trimmed := strings.TrimLeft(line, " \t")
			if !strings.HasPrefix(trimmed, "::") {
				continue
			}
			if format != "github" || !strings.HasPrefix(line, "::error col=") || !strings.Contains(line, ",file=h.yml,line=") {
				t.Errorf("%s: a line forms a workflow command: %q", format, line)
			}
		}
	}
}

// FuzzWorkflowCommand checks that any message and path become exactly one command line whose
// properties cannot be split and whose data cannot break the line.
func FuzzWorkflowCommand(f *testing.F) {
	f.Add("path.yml", "unknown key \"x\"", 3, 4)
	f.Add("a,b:c.yml", "x\r\n::set-output name=a::b%0A", 1, 1)
	f.Fuzz(func(t *testing.T, path, msg string, line, col int) {
		d := diagFor(msg, line, col)
		out := workflowCommand(path, d)
		if strings.ContainsAny(out, "\r\n") {
			t.Fatalf("command spans lines: %q", out)
		}
		head, data, ok := strings.Cut(out[2:], "::")
		if !ok || !strings.HasPrefix(out, "::error ") {
			t.Fatalf("malformed command %q", out)
		}
		for _, prop := range strings.Split(strings.TrimPrefix(head, "error "), ",") {
			name, value, ok := strings.Cut(prop, "=")
			if !ok || strings.Contains(value, ":") || !strings.Contains("file line col title", name) {
				t.Fatalf("bad property %q in %q", prop, out)
			}
		}
		if got := unescapeData(data); got != msg+" ["+d.Code+"]" {
			t.Fatalf("data does not round-trip: %q -> %q", msg, got)
		}
		text := textLine(path, d)
		if strings.ContainsAny(text, "\r\n\u2028\u2029\u0085") {
			t.Fatalf("text line spans lines: %q", text)
		}
	})
}

// TestLintNeverFollowsASymlink: a symlinked file is reported, never read, in lint and drift.
func TestLintNeverFollowsASymlink(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("version: 1\nTOKEN_CANARY: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, ".tinyforge.yml")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"lint", link}, {"drift", "--live", "../../testdata/sample/live.json", link}} {
		code, out, _ := run(t, nil, nil, "", args...)
		if code != ExitFailed || !strings.Contains(out, "[not-regular-file]") || strings.Contains(out, "TOKEN_CANARY") {
			t.Errorf("%v: exit %d, output:\n%s", args[0], code, out)
		}
	}
}

// TestHelpAndBadFlags: every way of asking for a command's help prints its page once, on
// stdout, exit 0; a bad flag prints the error and a one-line hint on stderr, nothing on stdout,
// exit 2.
func TestHelpAndBadFlags(t *testing.T) {
	for _, cmd := range []string{"lint", "drift", "action", "schema"} {
		for _, args := range [][]string{{"help", cmd}, {cmd, "-h"}, {cmd, "--help"}} {
			code, out, errOut := run(t, nil, nil, "", args...)
			if code != ExitOK || errOut != "" {
				t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
			}
			if n := strings.Count(out, "Usage: tinyforge-check "+cmd); n != 1 {
				t.Errorf("%q printed the usage %d times, want once:\n%s", args, n, out)
			}
		}
		code, out, errOut := run(t, nil, nil, "", cmd, "--no-such-flag")
		want := "tinyforge-check " + cmd + ": flag provided but not defined: -no-such-flag\nRun \"tinyforge-check help " + cmd + "\" for usage.\n"
		if code != ExitUsage || out != "" || errOut != want {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want 2, nothing, %q", cmd, code, out, errOut, want)
		}
	}
}

// TestLintWalksDirectories: `lint` and `lint DIR` lint every .tinyforge.yml (and
// NAME.tinyforge.yml) below the directory in name order, skipping .git, node_modules and
// vendor; a directory without one stands for its missing .tinyforge.yml. A summary line ends the
// text output, also when everything is clean.
func TestLintWalksDirectories(t *testing.T) {
	mem := fstest.MapFS{
		"a/.tinyforge.yml":              {Data: []byte("version: 1\ndeploy:\n  port: 8080\n")},
		"b/web.tinyforge.yaml":          {Data: []byte("version: 1\ndeploy:\n  prot: 8080\n")},
		".git/x/.tinyforge.yml":         {Data: []byte("version: 9\n")},
		"node_modules/m/.tinyforge.yml": {Data: []byte("version: 9\n")},
		"vendor/.tinyforge.yml":         {Data: []byte("version: 9\n")},
		"c/README.md":                   {Data: []byte("no config here\n")},
	}
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"lint"}, ExitFailed, "b/web.tinyforge.yaml:3:3: error: unknown key \"prot\"; did you mean \"port\"? (allowed under deploy: port, healthcheck, deploy_strategy) [unknown-key]\n2 files: 1 error\n"},
		{[]string{"lint", "."}, ExitFailed, "b/web.tinyforge.yaml:3:3: error: unknown key \"prot\"; did you mean \"port\"? (allowed under deploy: port, healthcheck, deploy_strategy) [unknown-key]\n2 files: 1 error\n"},
		{[]string{"lint", "a"}, ExitOK, "1 file: no problems\n"},
		{[]string{"lint", "c"}, ExitFailed, "c/.tinyforge.yml: error: the file does not exist; create it, or pass the path of your .tinyforge.yml [no-file]\n1 file: 1 error\n"},
	} {
		code, out, errOut := run(t, nil, mem, "", tc.args...)
		if code != tc.code || out != tc.out || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, errOut, tc.code, tc.out)
		}
	}
	_, out, _ := run(t, nil, mem, "", "lint", "--format", "json")
	var doc struct{ Files []struct{ Path string } }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Files) != 2 || doc.Files[0].Path != "a/.tinyforge.yml" || doc.Files[1].Path != "b/web.tinyforge.yaml" {
		t.Errorf("json files %+v (%v), want a/.tinyforge.yml then b/web.tinyforge.yaml and no summary line:\n%s", doc.Files, err, out)
	}
}

// TestActionEventTooLarge: an event payload over the 25 MiB read limit is reported as too large,
// not as invalid JSON (issue 14).
func TestActionEventTooLarge(t *testing.T) {
	t.Parallel()
	big := `{"pull_request": {"title": "` + strings.Repeat("x", 25<<20) + `"}}`
	mem := fstest.MapFS{"event.json": {Data: []byte(big)}}
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "event.json",
		"GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "1111111111111111111111111111111111111111"}
	code, _, errOut := run(t, env, mem, "", "action")
	if code != ExitUsage || !strings.Contains(errOut, "event.json is larger than 25 MiB") {
		t.Errorf("exit %d, stderr %q; want 2 and a size message", code, errOut)
	}
}

// TestHelpWithoutFlags: a command without flags (action takes its settings from the
// environment, schema from nothing) prints no empty "Flags:" heading.
func TestHelpWithoutFlags(t *testing.T) {
	for _, args := range [][]string{{"help", "action"}, {"action", "--help"}, {"help", "schema"}} {
		code, out, _ := run(t, nil, fstest.MapFS{}, "", args...)
		if code != ExitOK || strings.Contains(out, "Flags:") || out == "" {
			t.Errorf("%q: exit %d, output ends %q; want its page without an empty Flags: heading", args, code, out[max(0, len(out)-80):])
		}
	}
	if _, out, _ := run(t, nil, fstest.MapFS{}, "", "help", "lint"); !strings.Contains(out, "\nFlags:\n") {
		t.Errorf("help lint lost its flags:\n%s", out)
	}
}
