package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// reservedSecret matches a secret whose name Gitea and Forgejo refuse to store: names starting
// with GITEA_ or GITHUB_ are theirs. act does not enforce it, so the e2e tests cannot catch it.
var reservedSecret = regexp.MustCompile(`secrets\.((?:GITEA|GITHUB)_[A-Za-z0-9_]*)`)

// reservedSecrets lists, as "path:line: secrets.NAME", the secrets of a reserved name that a
// workflow or doc tells people to create. GitHub's own secrets.GITHUB_TOKEN is allowed in a
// GitHub workflow: a file under .github/workflows/ or named github-*.yml, or a markdown code block
// whose first line names .github/workflows/.
func reservedSecrets(path string, data []byte) []string {
	github := strings.Contains(filepath.ToSlash(path), ".github/workflows/") || strings.HasPrefix(filepath.Base(path), "github-")
	markdown := strings.HasSuffix(path, ".md")
	var out []string
	inBlock, blockIsGitHub, blockFirst := false, false, false
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if markdown && strings.HasPrefix(trimmed, "```") {
			inBlock, blockIsGitHub, blockFirst = !inBlock, false, !inBlock
			continue
		}
		if blockFirst {
			blockIsGitHub, blockFirst = strings.Contains(trimmed, ".github/workflows/"), false
		}
		for _, m := range reservedSecret.FindAllStringSubmatch(line, -1) {
			if m[1] == "GITHUB_TOKEN" && (github || (inBlock && blockIsGitHub)) {
				continue
			}
			out = append(out, fmt.Sprintf("%s:%d: secrets.%s", path, i+1, m[1]))
		}
	}
	return out
}

// TestNoReservedSecretNames fails on a secret named GITEA_* or GITHUB_* in the examples, the
// docs, the README and the repo's workflows (Gitea and Forgejo refuse such names, so a user could
// not follow them), except GitHub's built-in secrets.GITHUB_TOKEN in GitHub workflows.
func TestNoReservedSecretNames(t *testing.T) {
	root := testenv.ModuleRoot(t)
	var files []string
	for _, pattern := range []string{"examples/*.yml", "docs/*.md", "README.md", ".github/workflows/*.yml", "host/*.yml", "action.yml"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d files to check: %v", len(files), files)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		for _, bad := range reservedSecrets(rel, data) {
			t.Errorf("%s: Gitea and Forgejo refuse secret names starting with GITEA_ or GITHUB_; use another name (FORGE_TOKEN for the forge token)", bad)
		}
	}
}

// TestReservedSecretsRule checks the rule itself, so that the scan above can fail.
func TestReservedSecretsRule(t *testing.T) {
	tests := []struct {
		path, text string
		want       []string
	}{
		{"examples/gitea-workflow.yml", "token: ${{ secrets.GITEA_BOT_TOKEN }}\nx: ${{ secrets.FORGE_TOKEN }}\n",
			[]string{"examples/gitea-workflow.yml:1: secrets.GITEA_BOT_TOKEN"}},
		{"examples/gitea-workflow.yml", "token: ${{ secrets.GITHUB_TOKEN }}", []string{"examples/gitea-workflow.yml:1: secrets.GITHUB_TOKEN"}},
		{"examples/github-workflow.yml", "token: ${{ secrets.GITHUB_TOKEN }} ${{ secrets.GITHUB_APP_KEY }}",
			[]string{"examples/github-workflow.yml:1: secrets.GITHUB_APP_KEY"}},
		{".github/workflows/release.yml", "t: ${{ secrets.GITHUB_TOKEN }}", nil},
		{"docs/action.md", "```yaml\n# .github/workflows/x.yml\nt: ${{ secrets.GITHUB_TOKEN }}\n```\n```yaml\n# .gitea/workflows/x.yml\nt: ${{ secrets.GITHUB_TOKEN }}\n```\nsecrets.GITEA_X\n",
			[]string{"docs/action.md:7: secrets.GITHUB_TOKEN", "docs/action.md:9: secrets.GITEA_X"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, reservedSecrets(tt.path, []byte(tt.text))); diff != "" {
			t.Errorf("reservedSecrets(%s, %q) (-want +got):\n%s", tt.path, tt.text, diff)
		}
	}
}
