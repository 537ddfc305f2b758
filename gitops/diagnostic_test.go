package gitops

import "testing"

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
