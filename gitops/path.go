package gitops

import (
	"fmt"
	"strings"
)

// MaxPathBytes is the longest GitOps file path Tinyforge accepts, in bytes.
const MaxPathBytes = 255

// pathChars are the bytes a GitOps file path may contain.
const pathChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/"

// notPathChar reports whether r may not be in a GitOps file path (an invalid byte is
// utf8.RuneError, which may not either).
func notPathChar(r rune) bool { return !strings.ContainsRune(pathChars, r) }

// CheckPath is the one rule for a GitOps file path, which the reference server applies when an
// admin sets it and the check applies to the path it reads (its path input and the path
// Tinyforge names): "" when p is acceptable (docs/tinyforge-api.md: only A-Z a-z 0-9 . _ - /, no
// leading "/", no empty, "." or ".." segment, ending in .yml or .yaml, at most MaxPathBytes
// bytes), else the rule it breaks. The reason never quotes p.
func CheckPath(p string) string {
	switch {
	case p == "":
		return "the path is empty"
	case len(p) > MaxPathBytes:
		return fmt.Sprintf("the path is longer than %d bytes", MaxPathBytes)
	case strings.HasPrefix(p, "/"):
		return "the path must be relative to the repo root (no leading /)"
	}
	if strings.IndexFunc(p, notPathChar) >= 0 {
		return "the path may only contain A-Z a-z 0-9 . _ - /"
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return `the path must not contain an empty, "." or ".." segment`
		}
	}
	if !strings.HasSuffix(p, ".yml") && !strings.HasSuffix(p, ".yaml") {
		return "the path must end in .yml or .yaml"
	}
	return ""
}
