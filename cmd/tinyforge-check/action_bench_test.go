package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// BenchmarkActionRun measures a whole action run on a PR whose comment is already up to date
// (the common rerun), against the fake forge and Tinyforge on loopback: HTTP requests per run
// (docs/design.md, Budgets: at most 5 with under 100 comments, one more per extra page of 100), wall time
// in-process and as the built binary, the binary's peak RSS, and its size.
func BenchmarkActionRun(b *testing.B) {
	bin := buildAction(b, b.TempDir())
	for _, tc := range []struct {
		name     string
		file     string
		comments int
	}{{"drift/comments=0", e2eDrift, 0}, {"drift/comments=250", e2eDrift, 250}, {"in-sync/comments=0", e2eInSync, 0}} {
		h := newHarness(b, bin, "github")
		h.commit(map[string]string{".tinyforge.yml": tc.file})
		h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
		h.forge.AddToken("other", forgefake.Token{Login: "alice"})
		for range tc.comments {
			h.forge.AddComment(h.owner, "r", 7, "alice", "a comment from someone else")
		}
		inputs := func() map[string]string {
			return h.env("pull_request", prPayload("synchronize", false), map[string]string{"workload": "3"})
		}
		if res := h.run(inputs()); res.code != 0 { // creates the comment (on drift)
			b.Fatalf("first run: exit %d: %s", res.code, res.stderr)
		}

		b.Run(tc.name+"/in-process", func(b *testing.B) {
			env := inputs()
			c := &Command{Stdin: bytes.NewReader(nil), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
				Getenv: func(k string) string { return env[k] },
				Open:   func(name string) (fs.File, error) { return os.Open(name) }, Lstat: os.Lstat}
			h.forge.ResetRequests()
			h.tf.resetLog()
			writes := h.writeCount()
			b.ReportAllocs()
			for b.Loop() {
				c.Stdout.(*bytes.Buffer).Reset()
				if code := c.Main([]string{"action"}); code != 0 {
					b.Fatalf("exit %d: %s", code, c.Stderr)
				}
			}
			reqs := len(h.requestLog()) + len(h.tf.requestLog())
			b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
			// The status is the only write of an unchanged rerun.
			b.ReportMetric(float64(h.writeCount()-writes)/float64(b.N), "writes/op")
		})

		b.Run(tc.name+"/binary", func(b *testing.B) {
			// Linux charges a child started with CLONE_VM (as os/exec starts it) the parent's
			// peak RSS at exec, so rusage would report this test's memory. GNU time forks
			// normally and reports the binary's own peak (%M, KiB).
			gnuTime, timeErr := exec.LookPath("/usr/bin/time")
			env := inputs()
			var maxRSS int64
			for b.Loop() {
				var cmd *exec.Cmd
				if timeErr == nil {
					cmd = exec.Command(gnuTime, "-f", "RSS=%M", bin)
				} else {
					cmd = exec.Command(bin)
				}
				cmd.Dir = h.ws
				for k, v := range env {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("%v: %s", err, stderr.String())
				}
				var kib int64
				if timeErr == nil {
					if _, err := fmt.Sscanf(stderr.String()[strings.LastIndex(stderr.String(), "RSS="):], "RSS=%d", &kib); err != nil {
						b.Fatalf("GNU time output %q: %v", stderr.String(), err)
					}
				} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					kib = ru.Maxrss
				}
				maxRSS = max(maxRSS, kib)
			}
			unit := "peak-RSS-MiB"
			if timeErr != nil {
				unit = "peak-RSS-upper-bound-MiB"
			}
			b.ReportMetric(float64(maxRSS)/1024, unit)
		})
	}
	st, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("binary-size", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(float64(st.Size())/(1<<20), "MiB")
	})
}
