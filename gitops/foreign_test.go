package gitops

import "testing"

// TestIsForeign: which files a check reports as not a .tinyforge.yml document (without any of
// their content) and which it lints as one.
func TestIsForeign(t *testing.T) {
	tests := []struct {
		name, file string
		want       bool
	}{
		{"valid", "version: 1\ndeploy:\n  port: 8080\n", false},
		{"invalid but a document", "version: 1\ndeploy:\n  prot: 8080\n", false},
		{"flow style", "{version: 1, deploy: {port: 8080}}\n", false},
		{"quoted version key", "\"version\": 1\n", false},
		{"syntax error with a version line", "version: 1\ndeploy:\n  port: [8080\n", false},
		{"tab with a version line", "version: 1\ndeploy:\n\tport: 8080\n", false},
		{"empty", "", false},
		{"kubeconfig", "apiVersion: v1\nusers:\n- user:\n    token: eyJhbGciOiJSUzI1NiJ9.SECRET\n", true},
		{"only deploy", "deploy:\n  port: 8080\n", true},
		{"a scalar (an .env line)", "TOKEN=abc123\n", true},
		{"a list", "- a\n- b\n", true},
		{"only comments", "# password: hunter2\n", true},
		{"syntax error without a version line", "password: \"abc\n", true},
		{"nested version only", "spec:\n  version: 1\n", true},
		{"not UTF-8", "version: 1\n# \xff\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Lint([]byte(tt.file), "")
			if got := IsForeign([]byte(tt.file), diags); got != tt.want {
				t.Errorf("IsForeign = %v, want %v (diagnostics %v)", got, tt.want, diags)
			}
		})
	}
	d := ForeignFile()
	if d.Line != 0 || d.Column != 0 || d.Field != "" || d.Severity != SeverityError {
		t.Errorf("ForeignFile points into the file or is not an error: %+v", d)
	}
}

// FuzzIsForeign: no panic on any input, and a file Lint finds no error in is never foreign (a
// valid file is always shown).
func FuzzIsForeign(f *testing.F) {
	for _, s := range []string{"version: 1\n", "apiVersion: v1\n", "TOKEN=x\n", "# x\n", "version: 1\n\tport: 1\n", "{version: 1}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, diags := Lint(data, "")
		if IsForeign(data, diags) && !diags.HasErrors() {
			t.Fatalf("a file without errors is foreign: %q", data)
		}
	})
}
