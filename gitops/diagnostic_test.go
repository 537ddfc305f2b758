package gitops

import (
	"fmt"
	"strings"
	"testing"
)

// TestDiagnosticFormat: a diagnostic with a position reads "path:line:col: ..."; a problem of the
// whole file has no position and reads "path: ...", never a fake ":0:0".
func TestDiagnosticFormat(t *testing.T) {
	at := Diagnostic{Severity: SeverityError, Line: 3, Column: 5, Code: "unknown-key", Message: "unknown key"}
	whole := Diagnostic{Severity: SeverityError, Code: "empty-file", Message: "the file is empty"}
	for _, tc := range []struct{ got, want string }{
		{at.Format("a.yml"), "a.yml:3:5: error: unknown key [unknown-key]"},
		{at.String(), "3:5: error: unknown key [unknown-key]"},
		{at.Location("a.yml"), "a.yml:3:5"},
		{whole.Format("a.yml"), "a.yml: error: the file is empty [empty-file]"},
		{whole.String(), "error: the file is empty [empty-file]"},
		{whole.Location("a.yml"), "a.yml"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestTooManyProblemsComesLast: the entry counting the problems left out is the last line,
// also after the source-aware rules re-sort the list, and says "1 more problem" for one.
func TestTooManyProblemsComesLast(t *testing.T) {
	for _, tc := range []struct {
		extra int
		want  string
	}{
		{1, "1 more problem is not shown; fix the ones above and lint again"},
		{20, "20 more problems are not shown; fix the ones above and lint again"},
	} {
		var b strings.Builder
		b.WriteString("version: 1\ndeploy:\n  port: 8080\n")
		for i := 0; i < MaxDiagnostics+tc.extra; i++ {
			fmt.Fprintf(&b, "k%d: 1\n", i)
		}
		_, diags := Lint([]byte(b.String()), SourceStatic) // static adds a source-type error and re-sorts
		last := diags[len(diags)-1]
		if last.Code != "too-many-problems" || last.Message != tc.want {
			t.Errorf("%d left out: last entry %+v, want too-many-problems %q", tc.extra, last, tc.want)
		}
		for _, d := range diags[:len(diags)-1] {
			if d.Code == "too-many-problems" {
				t.Errorf("%d left out: the overflow entry is not last", tc.extra)
			}
		}
	}
}
