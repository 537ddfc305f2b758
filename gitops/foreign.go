package gitops

import (
	"bytes"
	"regexp"
)

// topVersionLine finds a top-level "version:" key in text the YAML parser could not read.
var topVersionLine = regexp.MustCompile(`(?m)^(?:version|"version"|'version')[ \t]*:`)

// IsForeign reports whether data, which Lint answered with diags, is not a .tinyforge.yml
// document at all: its top level is not a mapping holding the key "version" (so it has no known
// key, or only deploy), or it is not UTF-8 text of at most MaxFileSize bytes, or it holds only
// comments. Text the YAML parser cannot read counts as a document when a line starts with a
// top-level version key. A check (whose file may be any file Tinyforge names, such as
// deploy/kubeconfig.yaml) reports a foreign file with ForeignFile alone and never shows its
// content; lint on a developer's machine keeps every diagnostic.
func IsForeign(data []byte, diags Diagnostics) bool {
	for _, d := range diags {
		switch d.Code {
		case "missing-version", "not-mapping", "invalid-utf8", "file-too-large":
			return true
		case "empty-file":
			return len(bytes.TrimSpace(data)) > 0
		case "syntax", "tab":
			return !topVersionLine.Match(data)
		}
	}
	return false
}

// ForeignFile is the one diagnostic of a file IsForeign: it says what the file is not and what to
// do, and quotes nothing of it (no line, no key, no value).
func ForeignFile() Diagnostic {
	return Diagnostic{Severity: SeverityError, Code: "not-tinyforge-file",
		Message: `the file is not a .tinyforge.yml document (its top level has no "version" key), so none of it is shown; ` +
			`point the path at your .tinyforge.yml, or start the file with "version: 1"`}
}
