package gitops

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// codeLiteral finds the codes passed to the parser's diagnostic helpers and set in Diagnostic
// literals or code variables in the package's (and the CLI's) source.
var codeLiteral = regexp.MustCompile(`(?:(?:errAt|errNode)\([^\n]*?"([a-z0-9]+(?:-[a-z0-9]+)*)", "|Code: +"([a-z0-9-]+)"|code(?:TooMany)? :?= "([a-z0-9-]+)")`)

// TestRulesCoverEveryCode: every code the source can produce is a Rule with the severity it is
// produced with, and every Rule is produced somewhere; docs/file-format.md describes each.
func TestRulesCoverEveryCode(t *testing.T) {
	root := testenv.ModuleRoot(t)
	var sources []string
	for _, glob := range []string{"gitops/*.go", "cmd/tinyforge-check/*.go"} {
		files, err := filepath.Glob(filepath.Join(root, glob))
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, files...)
	}
	produced := map[string]bool{}
	for _, f := range sources {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "rules.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range codeLiteral.FindAllStringSubmatch(string(data), -1) {
			produced[m[1]+m[2]+m[3]] = true
		}
	}
	rules := map[string]Rule{}
	for _, r := range Rules() {
		if _, dup := rules[r.Code]; dup {
			t.Errorf("rule %s listed twice", r.Code)
		}
		rules[r.Code] = r
		if r.Summary == "" || (r.Severity != SeverityError && r.Severity != SeverityWarning) {
			t.Errorf("rule %+v lacks a summary or a severity", r)
		}
		if !produced[r.Code] {
			t.Errorf("rule %s is produced nowhere in the source", r.Code)
		}
	}
	for code := range produced {
		if _, ok := rules[code]; !ok {
			t.Errorf("code %s is produced but is not in Rules(): add it there and to docs/file-format.md", code)
		}
	}

	// What the testdata actually produces agrees on codes and severities.
	files, _ := filepath.Glob(filepath.Join(root, "testdata", "invalid", "*.yml"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		_, diags := Lint(data, sourceTypeOf(data))
		for _, d := range diags {
			if r, ok := rules[d.Code]; !ok || r.Severity != d.Severity {
				t.Errorf("%s: %s has severity %s, Rules() says %+v", filepath.Base(f), d.Code, d.Severity, r)
			}
		}
	}

	doc, err := os.ReadFile(filepath.Join(root, "docs", "file-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	for code := range rules {
		if !strings.Contains(string(doc), "### `"+code+"`") {
			t.Errorf("docs/file-format.md has no section ### `%s`", code)
		}
	}
}
