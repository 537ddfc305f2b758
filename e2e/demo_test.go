package e2e

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoCtrlC runs the release-built server's demo as a user does and presses Ctrl-C: it stops within 5 s,
// exits 0 and removes its files.
func TestDemoCtrlC(t *testing.T) {
	requireBinaries(t)
	tmp := t.TempDir()
	cmd := exec.Command(filepath.Join(w.bins, "tinyforge-server"), "demo", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "again: it reads in sync.") {
				ready <- true
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo did not get ready in 60 s; stderr:\n%s", &stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after Ctrl-C the demo ended with %v, want exit 0; stderr:\n%s", err, &stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the demo did not stop within 5 s of Ctrl-C")
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("the demo left %v behind", entries)
	}
}
