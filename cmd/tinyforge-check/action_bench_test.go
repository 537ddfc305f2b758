package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// BenchmarkActionRun measures a whole action run on a PR whose comment is already up to date
// (the common rerun), against the fake forge and Tinyforge on loopback: HTTP requests per run
// (DESIGN §9: at most 5 with under 100 comments, one more per extra page of 100), wall time
// in-process and as the built binary, the binary's peak RSS, and its size.
func BenchmarkActionRun(b *testing.B) {
	bin := buildAction(b, b.TempDir())
	for _, tc := range []struct {
		name     string
		comments int
	}{{"comments=0", 0}, {"comments=250", 250}} {
		h := newHarness(b, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		h.forge.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
		h.forge.setToken("other", "alice", false)
		for range tc.comments {
			h.forge.createComment(7, "alice", "a comment from someone else")
		}
		inputs := func() map[string]string {
			return h.env("pull_request", prPayload("synchronize", false), map[string]string{"workload": "3"})
		}
		if res := h.run(inputs()); res.code != 0 { // creates the comment
			b.Fatalf("first run: exit %d: %s", res.code, res.stderr)
		}

		b.Run(tc.name+"/in-process", func(b *testing.B) {
			env := inputs()
			c := &Command{Stdin: bytes.NewReader(nil), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
				Getenv: func(k string) string { return env[k] },
				Open:   func(name string) (fs.File, error) { return os.Open(name) }}
			h.forge.resetLog()
			h.tf.resetLog()
			writes := h.forge.writeCount()
			b.ReportAllocs()
			for b.Loop() {
				c.Stdout.(*bytes.Buffer).Reset()
				if code := c.Main([]string{"action"}); code != 0 {
					b.Fatalf("exit %d: %s", code, c.Stderr)
				}
			}
			reqs := len(h.forge.requestLog()) + len(h.tf.requestLog())
			b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
			// The status is the only write of an unchanged rerun.
			b.ReportMetric(float64(h.forge.writeCount()-writes)/float64(b.N), "writes/op")
		})

		b.Run(tc.name+"/binary", func(b *testing.B) {
			env := inputs()
			var maxRSS int64
			for b.Loop() {
				cmd := exec.Command(bin)
				cmd.Dir = h.ws
				for k, v := range env {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > maxRSS {
					maxRSS = ru.Maxrss // KiB on Linux
				}
			}
			b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
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
