package checker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

func TestWorkflowCommandEscapes(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		msg   string
		want  string
	}{
		{"plain", nil, "plain", "::error::plain"},
		{"percent", nil, "100%", "::error::100%25"},
		{"line breaks", nil, "a\r\nb", "::error::a%0D%0Ab"},
		{"escaped text stays text", nil, "%0A", "::error::%250A"},
		{"properties", map[string]string{"file": "file.yml:3,4", "line": "3"}, "m", "::error file=file.yml%3A3%2C4,line=3::m"},
		{"property injection", map[string]string{"file": "a\n::warning::x"}, "m", "::error file=a%0A%3A%3Awarning%3A%3Ax::m"},
	}
	for _, tt := range tests {
		if got := WorkflowCommand("error", tt.props, tt.msg); got != tt.want {
			t.Errorf("%s: WorkflowCommand = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNeutralize(t *testing.T) {
	tests := []struct{ in, want string }{
		{".tinyforge.yml:3:3: error: bad [code]", ".tinyforge.yml:3:3: error: bad [code]"},
		{"::add-mask::x", "：:add-mask::x"},
		{"  \t::set-output name=a::b", "   ：:set-output name=a::b"},
		{"msg ##[set-env name=A;]b", "msg ##［set-env name=A;]b"},
		{"a\nb\r::error::c", "a b ::error::c"}, // line breaks are spaces: still one line
		{"\n::error::c", " ：:error::c"},
		{"HTTP 500: line one\nline two", "HTTP 500: line one line two"},
		{"\x1b[31mred", "\ufffd[31mred"},
		{"x\u202ey", "x\ufffdy"},
	}
	for _, tt := range tests {
		if got := Neutralize(tt.in); got != tt.want {
			t.Errorf("Neutralize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// isCommand reports whether a line would be run as a workflow command by GitHub's runner
// (::cmd after leading whitespace, or legacy ##[cmd anywhere) or act (::cmd at the start).
func isCommand(line string) bool {
	return strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") || strings.Contains(line, "##[")
}

func TestWriteMasks(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMasks(&b, []string{"tok1", "", "multi\nline%"}); err != nil {
		t.Fatal(err)
	}
	want := "::add-mask::tok1\n::add-mask::multi%0Aline%25\n::add-mask::multi\n::add-mask::line%25\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("masks (-want +got):\n%s", diff)
	}
}

func TestWriteLog(t *testing.T) {
	// 12 errors and 12 warnings: 10 annotations per level, every diagnostic as a plain line.
	var diags gitops.Diagnostics
	for i := 1; i <= 12; i++ {
		diags = append(diags, gitops.Diagnostic{Severity: gitops.SeverityError, Line: i, Column: 3, Code: "unknown-key", Message: fmt.Sprintf("e%d", i)})
		diags = append(diags, gitops.Diagnostic{Severity: gitops.SeverityWarning, Line: i, Column: 5, Code: "no-fields", Message: fmt.Sprintf("w%d", i)})
	}
	r := &Report{Verdict: VerdictInvalid, Path: "deploy/tf.yml", File: []byte("x"), Diagnostics: diags,
		Notices: []Notice{{LevelNotice, "drift not checked"}}}
	var b bytes.Buffer
	if err := WriteLog(&b, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	count := map[string]int{}
	var plain []string
	for _, l := range lines {
		if strings.HasPrefix(l, "::") {
			count[l[2:2+strings.IndexAny(l[2:], " :")]]++
			continue
		}
		plain = append(plain, l)
	}
	if diff := cmp.Diff(map[string]int{"error": 10, "warning": 10, "notice": 1}, count); diff != "" {
		t.Errorf("annotations per level (-want +got):\n%s", diff)
	}
	if got, want := lines[1], "::error col=3,file=deploy/tf.yml,line=1,title=tinyforge-check [unknown-key]::e1"; got != want {
		t.Errorf("first annotation = %q, want %q", got, want)
	}
	if got, want := len(plain), 1+24+1; got != want {
		t.Fatalf("plain lines = %d, want %d:\n%s", got, want, b.String())
	}
	if diff := cmp.Diff([]string{"tinyforge-check: notice: drift not checked", "deploy/tf.yml:1:3: error: e1 [unknown-key]", "deploy/tf.yml:1:5: warning: w1 [no-fields]"}, plain[:3]); diff != "" {
		t.Errorf("plain lines (-want +got):\n%s", diff)
	}
	if got, want := plain[len(plain)-1], "tinyforge-check: invalid: 12 errors in deploy/tf.yml: fix the file"; got != want {
		t.Errorf("verdict line = %q, want %q", got, want)
	}
}

func TestWriteLogInjection(t *testing.T) {
	// Messages and values that try to form workflow commands.
	evil := "x\n::add-mask::y\r\n##[set-output name=verdict;]in_sync\n::stop-commands::z"
	r := &Report{Verdict: VerdictDrift, Path: ".tinyforge.yml", File: []byte("x"),
		Diagnostics: gitops.Diagnostics{{Severity: gitops.SeverityWarning, Line: 1, Column: 1, Code: "c", Message: evil}},
		Drift:       []gitops.DriftEntry{{Field: "deploy.healthcheck", RepoValue: evil, LiveValue: "::error::boom"}},
		Notices:     []Notice{{LevelWarning, evil}}}
	var b bytes.Buffer
	if err := WriteLog(&b, r); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&b)
	n := 0
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "::warning ") || strings.HasPrefix(l, "::warning::") {
			n++
			if strings.ContainsAny(l, "\r") {
				t.Errorf("annotation has a raw CR: %q", l)
			}
			continue
		}
		if isCommand(l) {
			t.Errorf("untrusted text forms a command: %q", l)
		}
	}
	if n != 2 {
		t.Errorf("warning annotations = %d, want 2", n)
	}
}

func TestOutputs(t *testing.T) {
	r := &Report{Verdict: VerdictDrift, File: []byte("x"), SyncURL: "https://tf.example/apps/3?file=a&commit=b#gitops",
		Drift:   []gitops.DriftEntry{{Field: "deploy.port", RepoValue: "9090", LiveValue: "8080"}},
		Comment: forge.CommentResult{Action: forge.CommentCreated, URL: "https://forge.test/pr/7#c1"},
		Issue:   forge.IssueResult{Action: "opened", URL: "https://forge.test/issues/1001"}}
	want := []Output{{"verdict", "drift"}, {"valid", "true"}, {"drift", "true"}, {"drift-count", "1"},
		{"drift-json", `[{"field":"deploy.port","repo_value":"9090","live_value":"8080"}]`},
		{"sync-url", "https://tf.example/apps/3?file=a&commit=b#gitops"}, {"comment-url", "https://forge.test/pr/7#c1"},
		{"issue-url", "https://forge.test/issues/1001"}, {"comment-action", "created"}}
	if diff := cmp.Diff(want, Outputs(r)); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	empty := Outputs(&Report{Verdict: VerdictNoFile})
	if diff := cmp.Diff([]Output{{"verdict", "no_file"}, {"valid", "false"}, {"drift", "false"}, {"drift-count", "0"},
		{"drift-json", "[]"}, {"sync-url", ""}, {"comment-url", ""}, {"issue-url", ""}, {"comment-action", ""}}, empty); diff != "" {
		t.Errorf("no-file outputs (-want +got):\n%s", diff)
	}
}

// parseFileCommands reads a GITHUB_OUTPUT file as the runner does.
func parseFileCommands(s string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		name, delim, ok := strings.Cut(l, "<<")
		if !ok {
			n, v, ok := strings.Cut(l, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: %q", i+1, l)
			}
			out[n] = v
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		if i == len(lines) {
			return nil, errors.New("unterminated " + name)
		}
		out[name] = strings.Join(val, "\n")
	}
	return out, nil
}

func TestWriteFileCommand(t *testing.T) {
	var b bytes.Buffer
	values := map[string]string{
		"verdict":    "drift",
		"drift-json": "[]\nverdict<<EOF\nin_sync\nEOF",
		"sync-url":   "",
	}
	for _, name := range []string{"verdict", "drift-json", "sync-url"} {
		if err := WriteFileCommand(&b, nil, name, values[name]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := parseFileCommands(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(values, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := WriteFileCommand(&b, nil, "a\nb", "x"); err == nil {
		t.Errorf("a name with a newline was accepted")
	}
	// A random source that repeats the value's own delimiter is retried.
	fixed := bytes.NewReader(append(bytes.Repeat([]byte{0}, 16), bytes.Repeat([]byte{1}, 16)...))
	b.Reset()
	val := "ghadelimiter_00000000000000000000000000000000"
	if err := WriteFileCommand(&b, fixed, "x", val); err != nil {
		t.Fatal(err)
	}
	if want := "x<<ghadelimiter_01010101010101010101010101010101\n" + val + "\nghadelimiter_01010101010101010101010101010101\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestRedact(t *testing.T) {
	if got := secret.Redact("token "+canary+" and "+canary, "", canary); got != "token *** and ***" {
		t.Errorf("Redact = %q", got)
	}
}
