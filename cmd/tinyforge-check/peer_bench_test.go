package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// peerEnv names the bundled entry point (dist/index.js) of thollander/actions-comment-pull-request,
// the peer the comment's speed is compared with. It is not on npm and its code is not ours to
// commit: build it outside the repository (docs/performance.md, Writing runs side by side).
const peerEnv = "TINYFORGE_PEER_COMMENT_JS"

// BenchmarkPeerComment runs, side by side and alternately, whole `tinyforge-check action`
// processes with the default settings (the settle wait and the verify re-read included) and the
// peer (node, REST upsert: it pages through the comments one page of 30 at a time for its tag,
// then edits or creates) against the same GitHub fake over TLS (HTTP/2 for ours, HTTP/1.1
// keep-alive for node) with 250 other comments on every PR, at 0 ms and at 50 ms per request
// (the fake waits that long before it handles each request; connection setup is not delayed).
// Cases: first runs (a PR without the comment: both create it) and writing runs (the comment
// exists and its text changes every run: both edit it). It reports each side's median wall
// time and their ratio, ours ÷ peer; and, in the same rotation, ours with the fixed 2 s wait the
// check made before issue 24 (TINYFORGE_COMMENT_VERIFY_DELAY=2s, which now sets the least wait).
//
//	TINYFORGE_PEER_COMMENT_JS=$HOME/peer/dist/index.js \
//	  go test ./cmd/tinyforge-check -run '^$' -bench PeerComment -benchtime 1x
func BenchmarkPeerComment(b *testing.B) {
	peer := os.Getenv(peerEnv)
	node, nodeErr := exec.LookPath("node")
	if _, err := os.Stat(peer); peer == "" || err != nil || nodeErr != nil {
		b.Skipf("the peer is absent (%s=%q, node: %v): build thollander/actions-comment-pull-request's src/main.ts "+
			"with esbuild outside the repository and set %s to its dist/index.js", peerEnv, peer, nodeErr, peerEnv)
	}
	bin := buildAction(b, b.TempDir())
	const pairs = 11
	for _, kind := range []string{"first", "changed"} {
		for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/delay=%dms", kind, delay.Milliseconds()), func(b *testing.B) {
				lw, old := newPeerWorld(b, bin, delay), newPeerWorld(b, bin, delay)
				old.verify = "2s"
				pw := &peerWorld{lw: lw, node: node, js: peer, pr: 1000}
				for range b.N {
					var ours, theirs, before []time.Duration
					for range pairs {
						d, _ := lw.run(b, kind)
						ours = append(ours, d)
						theirs = append(theirs, pw.run(b, kind))
						d, _ = old.run(b, kind)
						before = append(before, d)
					}
					mo, mp := median(ours), median(theirs)
					b.ReportMetric(float64(mo.Microseconds())/1000, "ms-ours/run")
					b.ReportMetric(float64(mp.Microseconds())/1000, "ms-peer/run")
					b.ReportMetric(float64(median(before).Microseconds())/1000, "ms-ours-2s/run")
					b.ReportMetric(float64(mo)/float64(mp), "ours/peer")
				}
			})
		}
	}
}

// newPeerWorld is the GitHub world of BenchmarkActionLatency (job token, 250 other comments on
// every PR) without proxies: the fake delays every request by delay.
func newPeerWorld(b *testing.B, bin string, delay time.Duration) *latencyWorld {
	b.Helper()
	lw := &latencyWorld{bin: bin, kind: "github", owner: "o", ws: b.TempDir(), runID: 100, pr: 7, others: 250}
	gh := forgefake.NewGitHub(b, forgefake.Options{Spec: loopSpecs.GitHub(b), TLS: true, Delay: delay})
	gh.AddToken(forgeCanary, forgefake.Token{Login: "github-actions[bot]", Integration: true})
	lw.forge = gh
	lw.forge.PutFileAt(lw.owner, "r", e2eBase, ".tinyforge.yml", []byte(e2eInSync))
	lw.forge.PutFileAt(lw.owner, "r", e2eHead, "", nil)
	lw.tf = startFakeTinyforge(b, tfCanary, true, webWorkload(""))
	lw.forgeURL, lw.tfURL = gh.URL(), lw.tf.srv.URL
	lw.certs = filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(lw.certs, append(gh.CertPEM(), pemOf(lw.tf)...), 0o644); err != nil {
		b.Fatal(err)
	}
	lw.addOthers(lw.pr)
	return lw
}

// peerWorld runs the peer against a latencyWorld's GitHub fake, on PRs of its own (from 1000)
// with the same 250 other comments.
type peerWorld struct {
	lw       *latencyWorld
	node, js string
	pr       int
	n        int // runs so far: the text of a writing run
	seeded   bool
}

// run prepares the state kind needs (untimed) and runs the peer once: its wall time.
func (pw *peerWorld) run(b *testing.B, kind string) time.Duration {
	b.Helper()
	switch kind {
	case "first":
		pw.pr++
		pw.lw.addOthers(pw.pr)
	case "changed":
		if !pw.seeded {
			pw.pr++
			pw.lw.addOthers(pw.pr)
			pw.exec(b) // creates it
			pw.seeded = true
		}
	}
	start := time.Now()
	pw.exec(b)
	return time.Since(start)
}

// exec runs the peer's node process once as a runner would, with a text that differs each run.
func (pw *peerWorld) exec(b testing.TB) {
	b.Helper()
	pw.n++
	tmp := b.TempDir()
	ev := filepath.Join(tmp, "event.json")
	data, _ := json.Marshal(map[string]any{"number": pw.pr, "pull_request": map[string]any{"number": pw.pr}})
	if err := os.WriteFile(ev, data, 0o644); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(tmp, "output")
	if err := os.WriteFile(out, nil, 0o644); err != nil { // the runner creates it
		b.Fatal(err)
	}
	cmd := exec.Command(pw.node, pw.js)
	cmd.Env = []string{
		"PATH=/usr/bin:/bin", "NODE_EXTRA_CA_CERTS=" + pw.lw.certs, "GITHUB_ACTIONS=true",
		"GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH=" + ev, "GITHUB_REPOSITORY=" + pw.lw.owner + "/r",
		"GITHUB_API_URL=" + pw.lw.forgeURL, "GITHUB_OUTPUT=" + out,
		"INPUT_MESSAGE=drift report number " + strconv.Itoa(pw.n), "INPUT_GITHUB_TOKEN=" + forgeCanary,
		"INPUT_COMMENT_TAG=tinyforge", "INPUT_MODE=upsert", "INPUT_CREATE_IF_NOT_EXISTS=true",
	}
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("peer: %v\n%s", err, o)
	}
	if got, _ := os.ReadFile(out); len(got) == 0 {
		b.Fatalf("peer wrote no output: it did not create or edit its comment")
	}
}
