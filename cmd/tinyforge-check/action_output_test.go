//go:build unix

package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestActionRefusesBlockingOutputFile: a GITHUB_OUTPUT that is a FIFO nobody reads would block
// the step forever (opening it waits for a reader). The action refuses it, says why and exits
// with the error code, instead of hanging past its deadline.
func TestActionRefusesBlockingOutputFile(t *testing.T) {
	t.Parallel()
	bin := buildAction(t, t.TempDir())
	h := newHarness(t, bin, "github")
	h.commit(map[string]string{".tinyforge.yml": e2eInSync})
	env := h.env("push", pushPayload(false), map[string]string{})
	fifo := filepath.Join(t.TempDir(), "output")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	env["GITHUB_OUTPUT"] = fifo
	// The deadline only detects a hang; the run takes well under a second.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "action")
	cmd.Dir = h.ws
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the action blocked on a FIFO GITHUB_OUTPUT until killed:\n%s", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitError {
		t.Errorf("exit %v, want %d", err, ExitError)
	}
	if !strings.Contains(string(out), "is not a regular file") {
		t.Errorf("output does not say what is wrong:\n%s", out)
	}
}
