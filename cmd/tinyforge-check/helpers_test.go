package main

import (
	"strings"

	"github.com/tinyforge/tinyforge-check/gitops"
)

func diagFor(msg string, line, col int) gitops.Diagnostic {
	return gitops.Diagnostic{Severity: gitops.SeverityError, Line: line, Column: col, Code: "test", Message: msg}
}

// unescapeData reverses escapeData as the runner does.
func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}
