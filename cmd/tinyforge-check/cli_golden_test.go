package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/gitops"
)

// cliRun is one way of running the CLI: its arguments, environment, and whether standard
// output is a terminal.
type cliRun struct {
	args     []string
	env      map[string]string
	terminal bool
}

// String is the run as the golden file's header shows it: a shell command line.
func (r cliRun) String() string {
	var b strings.Builder
	keys := make([]string, 0, len(r.env))
	for k := range r.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s ", k, r.env[k])
	}
	b.WriteString(strings.Join(append([]string{"tinyforge-check"}, r.args...), " "))
	if r.terminal {
		b.WriteString("   # stdout is a terminal")
	}
	return b.String()
}

// TestCLIGolden runs command lines, actionlint style, and compares what each prints with
// testdata/cli/NAME.out: the command lines (every way of saying the same thing must print
// the same), the exit code, stdout and stderr. go test ./cmd/tinyforge-check -update rewrites
// the files.
func TestCLIGolden(t *testing.T) {
	tty := func(args ...string) cliRun { return cliRun{args: args, terminal: true} }
	plain := func(args ...string) cliRun { return cliRun{args: args} }
	hostile := []string{"testdata/cli/hostile/escape.yml", "testdata/cli/hostile/invisible.yml"}
	unset := []string{"--live", "testdata/cli/unset/live.json", "--source-type", "dockerfile", "testdata/cli/unset/.tinyforge.yml"}
	tests := []struct {
		name string
		runs []cliRun
	}{
		// Help: on stdout, exit 0, the same page however it is asked for.
		{"help", []cliRun{plain("help"), plain("-h"), plain("--help")}},
		{"help-lint", []cliRun{plain("help", "lint"), plain("lint", "-h"), plain("lint", "--help")}},
		{"help-drift", []cliRun{plain("help", "drift"), plain("drift", "-h"), plain("drift", "--help")}},
		{"help-schema", []cliRun{plain("help", "schema"), plain("schema", "-h"), plain("schema", "--help")}},
		// Usage errors: on stderr, exit 2, one line saying what is wrong and where to look.
		{"usage-no-command", []cliRun{plain()}},
		{"usage-unknown-command", []cliRun{plain("frobnicate"), plain("frobnicate", "--format", "json")}},
		{"usage-help-unknown-command", []cliRun{plain("help", "frobnicate")}},
		{"usage-bad-flag", []cliRun{plain("lint", "--frmat", "json"), plain("lint", "x.yml", "--frmat", "json")}},
		{"usage-bad-format", []cliRun{plain("lint", "--format", "xml", "x.yml")}},
		{"usage-bad-color", []cliRun{plain("lint", "--color", "sometimes", "x.yml")}},
		{"usage-drift-no-live", []cliRun{plain("drift", "x.yml")}},
		// A directory stands for every config below it, not in vendor or node_modules; a summary
		// line ends the text.
		{"lint-dir", []cliRun{plain("lint", "testdata/cli/repo"), plain("lint", "testdata/cli/repo/"), plain("lint", "--color", "never", "testdata/cli/repo")}},
		{"lint-dir-json", []cliRun{plain("lint", "--format", "json", "testdata/cli/repo")}},
		// On a terminal: the source line and a caret under the column, in colour unless
		// NO_COLOR (any value) or TERM=dumb; file content never reaches the terminal as
		// control or invisible characters.
		{"lint-terminal-color", []cliRun{tty(append([]string{"lint"}, hostile...)...), plain(append([]string{"lint", "--color", "always"}, hostile...)...),
			{args: append([]string{"lint", "--color", "always"}, hostile...), env: map[string]string{"NO_COLOR": "1"}}}},
		{"lint-terminal-no-color", []cliRun{
			{args: append([]string{"lint"}, hostile...), env: map[string]string{"NO_COLOR": "1"}, terminal: true},
			{args: append([]string{"lint"}, hostile...), env: map[string]string{"TERM": "dumb"}, terminal: true},
			tty(append([]string{"lint", "--color", "never"}, hostile...)...)}},
		{"lint-terminal-dir", []cliRun{tty("lint", "testdata/cli/repo")}},
		{"drift-terminal", []cliRun{tty("drift", "--live", "testdata/cli/unset/live.json", "--source-type", "static", "testdata/cli/unset/.tinyforge.yml")}},
		// Off a terminal, whatever the environment says, the plain lines.
		{"lint-not-terminal", []cliRun{plain(append([]string{"lint"}, hostile...)...), plain(append([]string{"lint", "--color", "never"}, hostile...)...),
			{args: append([]string{"lint", "--color", "auto"}, hostile...), env: map[string]string{"NO_COLOR": ""}}}},
		// A value missing from live: (unset) in text, null in JSON; a live string that reads
		// "(unset)" stays a string.
		{"drift-unset-text", []cliRun{plain(append([]string{"drift"}, unset...)...)}},
		{"drift-unset-json", []cliRun{plain(append([]string{"drift", "--format", "json"}, unset...)...)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header strings.Builder
			var first string
			for i, r := range tt.runs {
				code, stdout, stderr := runOn(t, r.terminal, r.env, nil, "", r.args...)
				fmt.Fprintf(&header, "$ %s\n", r)
				body := fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", code, stdout, stderr)
				if i == 0 {
					first = body
				} else if diff := cmp.Diff(first, body); diff != "" {
					t.Errorf("%s prints something else than %s (-first +this):\n%s", r, tt.runs[0], diff)
				}
			}
			golden(t, filepath.Join("cli", tt.name+".out"), header.String()+first)
		})
	}
}

// sgr matches the colour escape sequences the text format writes itself.
var sgr = regexp.MustCompile(`\x1b\[(0|1|1;31|1;32|1;33|90)m`)

// TestTerminalOutputIsThePlainOutputPlusSnippets: on a terminal, taking away the colours and
// the snippet lines leaves exactly the plain output, and no escape sequence but the tool's own
// colours, and no hidden character, comes from the files.
func TestTerminalOutputIsThePlainOutputPlusSnippets(t *testing.T) {
	args := []string{"lint", "testdata/cli/hostile/escape.yml", "testdata/cli/hostile/invisible.yml", "testdata/cli/repo",
		"../../testdata/invalid/many-problems.yml", "../../testdata/invalid/empty.yml"}
	_, plainOut, _ := runOn(t, false, nil, nil, "", args...)
	_, ttyOut, _ := runOn(t, true, nil, nil, "", args...)
	stripped := sgr.ReplaceAllString(ttyOut, "")
	for _, r := range stripped {
		if r != '\n' && gitops.IsHidden(r) {
			t.Errorf("terminal output holds the hidden character %U:\n%q", r, stripped)
		}
	}
	var kept []string
	snippets := 0
	for _, line := range strings.SplitAfter(stripped, "\n") {
		if regexp.MustCompile(`^ *[0-9]* \|`).MatchString(line) {
			snippets++
			continue
		}
		kept = append(kept, line)
	}
	if got := strings.Join(kept, ""); got != plainOut {
		t.Errorf("terminal output without colours and snippets differs from the plain output (-plain +terminal):\n%s", cmp.Diff(plainOut, got))
	}
	if snippets == 0 || !strings.Contains(ttyOut, "\x1b[") {
		t.Errorf("no snippet or colour on a terminal:\n%s", ttyOut)
	}
}

func TestSnippet(t *testing.T) {
	long := "  healthcheck: /" + strings.Repeat("a", 300) + " # end"
	tests := []struct {
		name         string
		src          string
		line, column int
		want         string
	}{
		{"a value", "version: 1\ndeploy:\n  port: 70000\n", 3, 9, "  |\n3 |   port: 70000\n  |         ^~~~~\n"},
		{"a key: the name, not the colon", "version: 1\ndeploy:\n  prot: 1\n", 3, 3, "  |\n3 |   prot: 1\n  |   ^~~~\n"},
		{"flow punctuation is left out", "deploy: {prot: 1}\n", 1, 19, "  |\n1 | deploy: {prot: 1}\n"},
		{"in a flow mapping", "deploy: {port: 1, x: 2}\n", 1, 19, "  |\n1 | deploy: {port: 1, x: 2}\n  |                   ^\n"},
		{"wide characters before the column take two cells", "a: \"漢字\", b\n", 1, 11, "  |\n1 | a: \"漢字\", b\n  |             ^\n"},
		{"wide characters under the caret", "s: 漢字 x\n", 1, 4, "  |\n1 | s: 漢字 x\n  |    ^~~~\n"},
		{"controls and invisible characters are replaced, one for one", "k: \"\x1b[2J\u202e\u200b\" z\n", 1, 13, "  |\n1 | k: \"\uFFFD[2J\uFFFD\uFFFD\" z\n  |             ^\n"},
		{"a tab is a space", "\tport: 1\n", 1, 1, "  |\n1 |  port: 1\n  | ^\n"},
		{"CRLF and CR end lines", "a: 1\r\nb: 2\rc: 3\n", 3, 1, "  |\n3 | c: 3\n  | ^\n"},
		{"a byte order mark is not a column", "\ufeffx: 1\n", 1, 1, "  |\n1 | x: 1\n  | ^\n"},
		{"two-digit line numbers widen the gutter", strings.Repeat("a: 1\n", 9) + "b: 2\n", 10, 1, "   |\n10 | b: 2\n   | ^\n"},
		{"a blank line", "a: 1\n\n", 2, 1, "  |\n2 |\n  | ^\n"},
		{"a column past the end: the line without a caret", "a: 1\n", 1, 9, "  |\n1 | a: 1\n"},
		{"a long line is cut around the column", long, 1, 250, "  |\n1 | ..." + strings.Repeat("a", 120) + "...\n  |    " + strings.Repeat(" ", 60) + "^" + strings.Repeat("~", 59) + "\n"},
		{"the whole file: none", "a: 1\n", 0, 0, ""},
		{"past the last line: none", "a: 1\n", 3, 1, ""},
		{"no file: none", "", 1, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src []byte
			if tt.src != "" {
				src = []byte(tt.src)
			}
			if got := snippet(snippetLines(textStyle{snippets: true}, src), tt.line, tt.column, false); got != tt.want {
				t.Errorf("snippet(line %d, column %d):\n got %q\nwant %q", tt.line, tt.column, got, tt.want)
			}
		})
	}
}

// TestColorDecision: the colour and snippet decision follows the --color flag, the terminal,
// NO_COLOR (any non-empty value, https://no-color.org) and TERM=dumb.
func TestColorDecision(t *testing.T) {
	tests := []struct {
		mode     string
		terminal bool
		env      map[string]string
		want     textStyle
	}{
		{"auto", false, nil, textStyle{}},
		{"auto", true, nil, textStyle{snippets: true, color: true}},
		{"auto", true, map[string]string{"NO_COLOR": "1"}, textStyle{snippets: true}},
		{"auto", true, map[string]string{"NO_COLOR": "false"}, textStyle{snippets: true}},
		{"auto", true, map[string]string{"NO_COLOR": ""}, textStyle{snippets: true, color: true}},
		{"auto", true, map[string]string{"TERM": "dumb"}, textStyle{snippets: true}},
		{"never", true, nil, textStyle{snippets: true}},
		{"never", false, nil, textStyle{}},
		{"always", false, map[string]string{"NO_COLOR": "1"}, textStyle{snippets: true, color: true}},
	}
	for _, tt := range tests {
		c := &Command{Getenv: func(k string) string { return tt.env[k] }, IsTerminal: func(io.Writer) bool { return tt.terminal }}
		if got := c.textStyle(tt.mode); got != tt.want {
			t.Errorf("--color %s, terminal %v, env %v: %+v, want %+v", tt.mode, tt.terminal, tt.env, got, tt.want)
		}
	}
	if got := (&Command{Getenv: func(string) string { return "" }}).textStyle("auto"); got != (textStyle{}) {
		t.Errorf("without IsTerminal: %+v, want plain", got)
	}
}

// TestSARIFRules: the SARIF log lists every rule once, with the summary as shortDescription,
// its default level and a helpUri to its section of docs/file-format.md.
func TestSARIFRules(t *testing.T) {
	_, out, _ := run(t, nil, nil, "", "lint", "--format", "sarif", "../../testdata/valid/full.yml")
	var doc struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID               string `json:"id"`
						ShortDescription struct {
							Text string `json:"text"`
						} `json:"shortDescription"`
						HelpURI              string `json:"helpUri"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Runs) != 1 {
		t.Fatalf("not one SARIF run (%v):\n%s", err, out)
	}
	rules := doc.Runs[0].Tool.Driver.Rules
	if len(rules) != len(gitops.Rules()) {
		t.Errorf("%d rules, want %d", len(rules), len(gitops.Rules()))
	}
	docs, err := os.ReadFile("../../docs/file-format.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		want, ok := gitops.RuleFor(r.ID)
		if !ok {
			t.Errorf("rule %q is not a diagnostic code", r.ID)
			continue
		}
		if r.ShortDescription.Text != want.Summary || r.DefaultConfiguration.Level != string(want.Severity) {
			t.Errorf("rule %s: %q, level %q; want %q, %q", r.ID, r.ShortDescription.Text, r.DefaultConfiguration.Level, want.Summary, want.Severity)
		}
		anchor, ok := strings.CutPrefix(r.HelpURI, "https://github.com/tinyforge/tinyforge-check/blob/main/docs/file-format.md#")
		if !ok || anchor != r.ID || !strings.Contains(string(docs), "\n### `"+anchor+"`\n") {
			t.Errorf("rule %s: helpUri %q does not lead to its section of docs/file-format.md", r.ID, r.HelpURI)
		}
	}
}
