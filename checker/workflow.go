package checker

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sethvargo/go-githubactions"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// MaxAnnotationsPerLevel is how many annotations of each level (error, warning, notice) a run
// prints as workflow commands; GitHub shows no more per step. The rest are still printed as
// plain lines and listed in the job summary.
const MaxAnnotationsPerLevel = 10

// WorkflowCommand formats one workflow command line (without the newline), such as
// "::error file=f.yml,line=3::message", escaping the message and the property values as the
// runner unescapes them (go-githubactions' escaping: % CR LF, and : , in properties), so no text
// can end the command or start another. Properties are written in sorted order.
func WorkflowCommand(name string, props map[string]string, message string) string {
	cmd := githubactions.Command{Name: name, Message: message, Properties: props}
	return cmd.String()
}

// Neutralize makes untrusted text safe to print as one line of a job log: tabs and line breaks
// (CR, LF) become spaces, other control, bidi and line-separator characters U+FFFD, a leading "::" (after spaces) gets a fullwidth first
// colon and every "##[" a fullwidth bracket, so the runner never reads the line as a workflow
// command (GitHub's runner accepts "::cmd::" after leading whitespace and the legacy "##[cmd]"
// anywhere in a line).
func Neutralize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case r == '\t' || r == '\n' || r == '\r': // a forge's multi-line error reads as one line
			b.WriteByte(' ')
		case gitops.IsHidden(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	out := strings.ReplaceAll(b.String(), "##[", "##［")
	trimmed := strings.TrimLeftFunc(out, unicode.IsSpace)
	if strings.HasPrefix(trimmed, "::") {
		lead := len(out) - len(trimmed)
		out = out[:lead] + "：" + trimmed[1:]
	}
	return out
}

// WriteMasks prints ::add-mask:: for each secret (and each line of a multi-line one). Call it
// first, and only when GITHUB_ACTIONS=true: elsewhere the line would print the secret.
func WriteMasks(w io.Writer, secrets []string) error {
	var b strings.Builder
	for _, s := range secrets {
		if strings.TrimSpace(s) == "" {
			continue
		}
		b.WriteString(WorkflowCommand("add-mask", nil, s) + "\n")
		if strings.ContainsAny(s, "\r\n") {
			for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
				if strings.TrimSpace(line) != "" {
					b.WriteString(WorkflowCommand("add-mask", nil, line) + "\n")
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteLog prints the run's result to stdout: the notices and diagnostics as workflow commands
// (annotations at file:line:col, at most MaxAnnotationsPerLevel per level) and the same as plain
// lines "path:line:col: severity: message [code]", then a verdict line. Untrusted text is
// escaped in commands and neutralized in plain lines.
func WriteLog(w io.Writer, r *Report) error {
	var b strings.Builder
	count := map[string]int{}
	annotate := func(level string, props map[string]string, msg string) {
		if count[level] >= MaxAnnotationsPerLevel {
			return
		}
		count[level]++
		b.WriteString(WorkflowCommand(level, props, msg) + "\n")
	}
	for _, n := range r.Notices {
		annotate(string(n.Level), map[string]string{"title": "tinyforge-check"}, n.Message)
	}
	for _, d := range r.Diagnostics {
		annotate(string(d.Severity), AnnotationProperties(r.Path, d), d.Message)
	}
	if r.Verdict == VerdictError && r.Reason != "" {
		annotate("error", map[string]string{"title": "tinyforge-check"}, r.Reason)
	}
	for _, n := range r.Notices {
		fmt.Fprintf(&b, "%s\n", Neutralize(fmt.Sprintf("tinyforge-check: %s: %s", n.Level, n.Message)))
	}
	for _, d := range r.Diagnostics {
		fmt.Fprintf(&b, "%s\n", Neutralize(d.Format(r.Path)))
	}
	line := fmt.Sprintf("tinyforge-check: %s: %s", r.Verdict, r.Description())
	if r.showReason() {
		line += " (" + r.Reason + ")"
	}
	fmt.Fprintf(&b, "%s\n", Neutralize(line))
	for _, d := range r.Drift {
		fmt.Fprintf(&b, "%s\n", Neutralize(fmt.Sprintf("  %s: repo %s, live %s", d.Field, d.RepoValue, d.LiveValue)))
	}
	if r.SyncURL != "" {
		fmt.Fprintf(&b, "%s\n", Neutralize("  sync: "+r.SyncURL))
	}
	if r.Issue.Action != "" {
		line := "  drift issue: " + string(r.Issue.Action)
		if r.Issue.URL != "" {
			line += " " + r.Issue.URL
		}
		fmt.Fprintf(&b, "%s\n", Neutralize(line))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// AnnotationProperties are the properties of a diagnostic's annotation: its file, line and
// column when it has a position, and a title naming the rule.
func AnnotationProperties(path string, d gitops.Diagnostic) map[string]string {
	props := map[string]string{"file": path, "title": "tinyforge-check [" + d.Code + "]"}
	if d.Line > 0 {
		props["line"] = strconv.Itoa(d.Line)
		if d.Column > 0 {
			props["col"] = strconv.Itoa(d.Column)
		}
	}
	return props
}

// Output is one step output.
type Output struct {
	Name, Value string
}

// Outputs returns the step outputs of docs/design.md (The check), in a fixed order: verdict, valid, drift,
// drift-count, drift-json, sync-url, comment-url, issue-url, comment-action.
func Outputs(r *Report) []Output {
	drift := r.Drift
	if drift == nil {
		drift = []gitops.DriftEntry{}
	}
	js, err := json.Marshal(drift)
	if err != nil {
		js = []byte("[]")
	}
	return []Output{
		{"verdict", string(r.Verdict)},
		{"valid", strconv.FormatBool(r.Valid())},
		{"drift", strconv.FormatBool(r.Verdict == VerdictDrift)},
		{"drift-count", strconv.Itoa(len(r.Drift))},
		{"drift-json", string(js)},
		{"sync-url", r.SyncURL},
		{"comment-url", r.Comment.URL},
		{"issue-url", r.Issue.URL},
		{"comment-action", string(r.Comment.Action)},
	}
}

// WriteFileCommand appends one entry to a GitHub file command (GITHUB_OUTPUT, GITHUB_ENV) in
// the multi-line form name<<DELIMITER / value / DELIMITER, with a delimiter drawn from rnd
// (crypto/rand when nil) that does not occur in the value, so no value can end the entry early
// and inject another.
func WriteFileCommand(w io.Writer, rnd io.Reader, name, value string) error {
	if name == "" || strings.ContainsAny(name, "\r\n=<") {
		return fmt.Errorf("file command name %q: use a non-empty name without newlines, = or <", name)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	for range 8 {
		buf := make([]byte, 16)
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return fmt.Errorf("make a file command delimiter: %w", err)
		}
		delim := "ghadelimiter_" + hex.EncodeToString(buf)
		if strings.Contains(value, delim) {
			continue
		}
		_, err := fmt.Fprintf(w, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
		return err
	}
	return errors.New("make a file command delimiter: every candidate occurs in the value; check the random source")
}
