package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestTryItBlock runs docs/tinyforge-api.md's "Try it" block verbatim against the demo, as a
// reader would paste it, and checks the answers it documents.
func TestTryItBlock(t *testing.T) {
	requireBinaries(t)
	doc, err := os.ReadFile(filepath.Join(w.root, "docs", "tinyforge-api.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Try it\n")
	if !ok {
		t.Fatal(`docs/tinyforge-api.md has no "## Try it" section`)
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	block, _, closed := strings.Cut(rest, "\n```")
	if !ok || !closed {
		t.Fatal(`the "Try it" section has no sh code block`)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = w.root
	// Its own process group: whatever the block leaves running when a line fails (the demo) is
	// stopped with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	out := buf.Bytes()
	if err != nil {
		t.Fatalf("the Try it block failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		`"name":"api"`,
		`"drift":[{"field":"deploy.port","repo_value":"8080","live_value":"3000","set_by":{"event_id":`,
		`"action":"create","via":"api","actor":"token:demo admin#1","role":"admin"}}]`,
		`"applied":[{"field":"deploy.port","from":"3000","to":"8080"}]`,
		`"action":"sync"`,
		`.tinyforge.yml has 2 errors; fix them and push`,
		`testdata/sample/.tinyforge.yml: in sync with live (3 fields managed)`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the Try it block's output lacks %s:\n%s", want, out)
		}
	}
}
