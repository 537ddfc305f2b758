package gitops

import (
	"fmt"
	"sort"
	"strings"
)

// Severity says whether a diagnostic makes the file invalid ("error") or is advice ("warning").
type Severity string

// The two severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in a .tinyforge.yml, in the shape of docs/file-format.md.
type Diagnostic struct {
	// Severity is error or warning.
	Severity Severity `json:"severity"`
	// Line and Column are the 1-based position of the offending key or value; 0 when the
	// problem has no position (an empty file, a file too large to parse).
	Line   int `json:"line"`
	Column int `json:"column"`
	// Field is the dotted path of the field concerned ("deploy.port"), or "" for the file.
	Field string `json:"field"`
	// Code is a stable identifier of the rule, e.g. "unknown-key".
	Code string `json:"code"`
	// Message names the rule broken and, for a misspelled key, the closest valid one.
	Message string `json:"message"`
}

// String formats the diagnostic as "line:col: severity: message [code]", or
// "severity: message [code]" for a problem of the whole file (Line 0), which has no position.
func (d Diagnostic) String() string {
	if d.Line <= 0 {
		return d.text()
	}
	return fmt.Sprintf("%d:%d: %s", d.Line, d.Column, d.text())
}

// Location is where the diagnostic points in the file at path: "path:line:col", or just
// "path" for a problem of the whole file (an empty file, one too large to parse), never a fake
// ":0:0".
func (d Diagnostic) Location(path string) string {
	if d.Line <= 0 {
		return path
	}
	return fmt.Sprintf("%s:%d:%d", path, d.Line, d.Column)
}

// Format is the CLI's text line for the file at path: "path:line:col: severity: message
// [code]", or "path: severity: message [code]" for a problem of the whole file.
func (d Diagnostic) Format(path string) string {
	return d.Location(path) + ": " + d.text()
}

func (d Diagnostic) text() string {
	return fmt.Sprintf("%s: %s [%s]", d.Severity, d.Message, d.Code)
}

// Diagnostics is a list of diagnostics, kept sorted by position like go/scanner.ErrorList.
// The zero value is an empty list: no problem.
type Diagnostics []Diagnostic

// Sort orders the list by line, column, then code and message, so output is stable. The
// "too-many-problems" entry, which counts the problems left out, always comes last.
func (l Diagnostics) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if (a.Code == codeTooMany) != (b.Code == codeTooMany) {
			return b.Code == codeTooMany
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Message < b.Message
	})
}

// HasErrors reports whether any entry has error severity.
func (l Diagnostics) HasErrors() bool {
	for _, d := range l {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns the entries of error severity, in order.
func (l Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range l {
		if d.Severity == SeverityError {
			out = append(out, d)
		}
	}
	return out
}

// Err returns an error describing the list's errors, or nil when it holds none (warnings alone
// are not an error).
func (l Diagnostics) Err() error {
	errs := l.Errors()
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// Error implements error: the first diagnostic and how many more there are.
func (l Diagnostics) Error() string {
	switch len(l) {
	case 0:
		return "no problems"
	case 1:
		return l[0].String()
	}
	var b strings.Builder
	b.WriteString(l[0].String())
	fmt.Fprintf(&b, " (and %d more)", len(l)-1)
	return b.String()
}

// NotRegularFile is the diagnostic for a path that names a symbolic link, device or pipe. Readers
// of the file never follow or open such a path: a symlink committed in a PR could otherwise point
// the check at the runner's secrets.
func NotRegularFile() Diagnostic {
	return Diagnostic{Severity: SeverityError, Code: "not-regular-file",
		Message: "the path is a symbolic link or another non-regular file, which is never followed; commit the file itself"}
}
