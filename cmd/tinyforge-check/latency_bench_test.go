package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/internal/forgefake"
	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// latencyRTT is the round-trip time Toxiproxy adds to every connection: 25 ms each way.
const latencyRTT = 50 * time.Millisecond

// toxiproxy is a toxiproxy-server process on 127.0.0.1 (scripts/tools.sh builds it).
type toxiproxy struct {
	api string
}

func startToxiproxy(b *testing.B) *toxiproxy {
	b.Helper()
	bin := filepath.Join(testenv.ToolsBin(), "toxiproxy-server")
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("toxiproxy-server is not built (%v): run bash scripts/tools.sh toxiproxy", err)
		if os.Getenv("CI") == "true" {
			b.Fatal(msg) // .ci/run builds it
		}
		b.Skip(msg)
	}
	port, err := testenv.FreeLoopbackPort()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-host", "127.0.0.1", "-port", strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); cmd.Wait() })
	tp := &toxiproxy{api: "http://127.0.0.1:" + strconv.Itoa(port)}
	for i := 0; ; i++ {
		resp, err := http.Get(tp.api + "/version")
		if err == nil {
			resp.Body.Close()
			return tp
		}
		if i > 100 {
			b.Fatalf("toxiproxy-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tp *toxiproxy) post(b *testing.B, path string, body any, out any) {
	b.Helper()
	data, _ := json.Marshal(body)
	resp, err := http.Post(tp.api+path, "application/json", bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b.Fatalf("toxiproxy POST %s: %s", path, resp.Status)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

// proxy puts a Toxiproxy proxy in front of upstream (host:port) and returns its address.
func (tp *toxiproxy) proxy(b *testing.B, name, upstream string) string {
	b.Helper()
	var p struct {
		Listen string `json:"listen"`
	}
	tp.post(b, "/proxies", map[string]any{"name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": true}, &p)
	return p.Listen
}

// latency adds (on) or removes (off) 25 ms in each direction on every proxy.
func (tp *toxiproxy) latency(b *testing.B, on bool, proxies ...string) {
	b.Helper()
	for _, name := range proxies {
		for _, stream := range []string{"upstream", "downstream"} {
			toxic := "latency_" + stream
			if on {
				tp.post(b, "/proxies/"+name+"/toxics", map[string]any{"name": toxic, "type": "latency", "stream": stream,
					"attributes": map[string]any{"latency": latencyRTT.Milliseconds() / 2, "jitter": 0}}, nil)
				continue
			}
			req, _ := http.NewRequest(http.MethodDelete, tp.api+"/proxies/"+name+"/toxics/"+toxic, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
}

// latencyFake is what the benchmark needs from a forge fake served over TLS.
type latencyFake interface {
	e2eForge
	Conns() int
	Handshakes() int
	CertPEM() []byte
}

// BenchmarkActionLatency runs whole `tinyforge-check action` processes against the forge fakes
// and the Tinyforge fake over TLS (HTTP/2), each behind Toxiproxy, first with 25 ms added in
// each direction on every connection (50 ms RTT, TLS handshake included), then without, and
// reports per run: the median wall time with latency, the sequential round trips
// ((wall - wall at 0 latency) / RTT), and the requests, connections and TLS handshakes per host.
// Cases: GitHub with 250 other comments, Gitea and GitLab (GitHub and Gitea with the job token,
// as a workflow that passes no token runs, and with a personal token: the -pat cases); for each the first run (creates the
// comment), a changed run (edits it) and an unchanged rerun (no comment write); and a scheduled
// run whose drift issue is already open and unchanged (no write at all).
//
//	bash scripts/tools.sh toxiproxy
//	go test ./cmd/tinyforge-check -run '^$' -bench ActionLatency -benchtime 1x
//
// Runs use the default settings: a writing run's settle wait (3 of its measured round trips)
// and its verify re-read are part of the wall time measured here.
func BenchmarkActionLatency(b *testing.B) {
	tp := startToxiproxy(b)
	bin := buildAction(b, b.TempDir())
	const runs = 5
	for _, forgeKind := range []string{"github", "github-pat", "gitea", "gitea-pat", "gitlab"} {
		for _, kind := range []string{"first", "changed", "unchanged", "scheduled"} {
			b.Run(forgeKind+"/"+kind, func(b *testing.B) {
				lw := newLatencyWorld(b, bin, forgeKind, tp)
				for range b.N {
					var zero, slow []time.Duration
					var last latencyCounts
					for _, withLatency := range []bool{false, true} {
						tp.latency(b, withLatency, lw.proxies...)
						for i := 0; i < runs; i++ {
							d, c := lw.run(b, kind)
							if withLatency {
								slow, last = append(slow, d), c
							} else {
								zero = append(zero, d)
							}
						}
					}
					tp.latency(b, false, lw.proxies...)
					mz, ms := median(zero), median(slow)
					b.ReportMetric(float64(ms.Microseconds())/1000, "ms/run")
					b.ReportMetric(float64(mz.Microseconds())/1000, "ms-at-0/run")
					b.ReportMetric(float64(ms-mz)/float64(latencyRTT), "rtt/run")
					b.ReportMetric(float64(last.forgeReqs), "forge-req/run")
					b.ReportMetric(float64(last.forgeConns), "forge-conn/run")
					b.ReportMetric(float64(last.forgeTLS), "forge-tls/run")
					b.ReportMetric(float64(last.tfReqs), "tf-req/run")
					b.ReportMetric(float64(last.tfConns), "tf-conn/run")
					b.ReportMetric(float64(last.writes), "writes/run")
				}
			})
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// latencyWorld is one forge fake and one Tinyforge fake over TLS, each behind a proxy.
type latencyWorld struct {
	bin, kind string
	pat       bool // token is a personal token; else, on GitHub and Gitea, the job's own token
	forge     latencyFake
	tf        *fakeTinyforge
	owner     string
	forgeURL  string // through the proxy
	tfURL     string // through the proxy
	proxies   []string
	ws, certs string
	runID, pr int
	others    int // other people's comments on every PR
	drift     bool
	scheduled bool   // runs are scheduled checks of the default branch, reported as an issue
	verify    string // TINYFORGE_COMMENT_VERIFY_DELAY, "" for the default
}

// latencyCounts is what one run cost, per host.
type latencyCounts struct {
	forgeReqs, forgeConns, forgeTLS, tfReqs, tfConns, writes int
}

// newLatencyWorld starts the world of a case: kind is the forge, with "-pat" for a personal token.
func newLatencyWorld(b *testing.B, bin, kind string, tp *toxiproxy) *latencyWorld {
	b.Helper()
	kind, pat := strings.CutSuffix(kind, "-pat")
	lw := &latencyWorld{bin: bin, kind: kind, pat: pat || kind == "gitlab", owner: "o", ws: b.TempDir(), runID: 100, pr: 7}
	token := forgefake.Token{Login: botLogin}
	switch kind {
	case "github":
		lw.forge = forgefake.NewGitHub(b, forgefake.Options{Spec: loopSpecs.GitHub(b), TLS: true})
		lw.others = 250
		if !lw.pat {
			token = forgefake.Token{Login: "github-actions[bot]", Integration: true}
		}
	case "gitea":
		lw.forge = forgefake.NewGitea(b, forgefake.Options{Spec: loopSpecs.Gitea(b), TLS: true})
		if !lw.pat {
			token = forgefake.Token{Login: "gitea-actions"}
		}
	case "gitlab":
		lw.owner = "group/sub"
		lw.forge = forgefake.NewGitLab(b, forgefake.Options{TLS: true})
	}
	lw.forge.AddToken(forgeCanary, token)
	lw.forge.PutFileAt(lw.owner, "r", e2eBase, ".tinyforge.yml", []byte(e2eInSync))
	lw.forge.PutFileAt(lw.owner, "r", e2eHead, "", nil)
	lw.tf = startFakeTinyforge(b, tfCanary, true, webWorkload(""))
	name := fmt.Sprintf("%s-%d", kind, time.Now().UnixNano())
	lw.proxies = []string{name + "-forge", name + "-tf"}
	lw.forgeURL = "https://" + tp.proxy(b, lw.proxies[0], strings.TrimPrefix(lw.forge.URL(), "https://"))
	lw.tfURL = "https://" + tp.proxy(b, lw.proxies[1], strings.TrimPrefix(lw.tf.srv.URL, "https://"))
	certs := append(lw.forge.CertPEM(), pemOf(lw.tf)...)
	lw.certs = filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(lw.certs, certs, 0o644); err != nil {
		b.Fatal(err)
	}
	lw.addOthers(lw.pr)
	return lw
}

func pemOf(tf *fakeTinyforge) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tf.srv.Certificate().Raw})
}

func (lw *latencyWorld) addOthers(pr int) {
	for range lw.others {
		lw.forge.AddComment(lw.owner, "r", pr, "alice", "a comment from someone else")
	}
}

// run prepares the state kind needs (untimed), runs the action once and returns its wall time
// and what it cost.
func (lw *latencyWorld) run(b *testing.B, kind string) (time.Duration, latencyCounts) {
	b.Helper()
	switch kind {
	case "first": // a PR without our comment
		lw.pr++
		lw.addOthers(lw.pr)
		lw.drift = true
	case "changed": // our comment exists and says something else
		if lw.runID == 100 {
			lw.drift = true
			lw.exec(b) // creates it
		}
		lw.drift = !lw.drift
	case "unchanged":
		if lw.runID == 100 {
			lw.drift = true
			lw.exec(b)
		}
	case "scheduled": // the drift issue is open and says the same
		lw.scheduled = true
		if lw.runID == 100 {
			lw.drift = true
			lw.exec(b) // opens it
		}
	}
	forgeConns, forgeTLS, tfConns := lw.forge.Conns(), lw.forge.Handshakes(), int(lw.tf.conns.Load())
	lw.forge.ResetRequests()
	lw.tf.resetLog()
	writes := lw.writeCount()
	start := time.Now()
	lw.exec(b)
	d := time.Since(start)
	return d, latencyCounts{
		forgeReqs: len(lw.forge.Requests()), forgeConns: lw.forge.Conns() - forgeConns, forgeTLS: lw.forge.Handshakes() - forgeTLS,
		tfReqs: len(lw.tf.requestLog()), tfConns: int(lw.tf.conns.Load()) - tfConns, writes: lw.writeCount() - writes,
	}
}

func (lw *latencyWorld) writeCount() int { return forgeWrites(lw.forge) }

// exec runs the binary once as a runner would.
func (lw *latencyWorld) exec(b *testing.B) {
	b.Helper()
	lw.runID++
	content := e2eInSync
	if lw.drift {
		content = e2eDrift
	}
	lw.forge.PutFileAt(lw.owner, "r", e2eHead, ".tinyforge.yml", []byte(content)) // the action reads the commit, not lw.ws
	tmp := b.TempDir()
	env := map[string]string{"SSL_CERT_FILE": lw.certs, "PATH": "/usr/bin:/bin"}
	if lw.verify != "" {
		env["TINYFORGE_COMMENT_VERIFY_DELAY"] = lw.verify
	}
	switch lw.kind {
	case "gitlab":
		for k, v := range map[string]string{
			"GITLAB_CI": "true", "CI_SERVER_URL": lw.forgeURL, "CI_PROJECT_PATH": lw.owner + "/r", "CI_PROJECT_DIR": lw.ws,
			"CI_COMMIT_SHA": e2eHead, "CI_PIPELINE_ID": strconv.Itoa(lw.runID), "CI_MERGE_REQUEST_IID": strconv.Itoa(lw.pr),
			"CI_MERGE_REQUEST_DIFF_BASE_SHA": e2eBase, "TINYFORGE_URL": lw.tfURL, "TINYFORGE_TOKEN": tfCanary,
			"TINYFORGE_WORKLOAD": "3", "GITLAB_TOKEN": forgeCanary,
		} {
			env[k] = v
		}
		if lw.scheduled {
			delete(env, "CI_MERGE_REQUEST_IID")
			delete(env, "CI_MERGE_REQUEST_DIFF_BASE_SHA")
			env["CI_PIPELINE_SOURCE"] = "schedule"
		}
	default:
		payload := prPayload("synchronized", false)
		pr := payload["pull_request"].(map[string]any)
		payload["number"], pr["number"] = lw.pr, lw.pr
		pr["comments"] = len(lw.forge.Comments(lw.owner, "r", lw.pr))
		data, _ := json.Marshal(payload)
		ev := filepath.Join(tmp, "event.json")
		os.WriteFile(ev, data, 0o644)
		for k, v := range map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": ev, "GITHUB_REPOSITORY": lw.owner + "/r",
			"GITHUB_SHA": e2eHead, "GITHUB_RUN_ID": strconv.Itoa(lw.runID), "GITHUB_WORKSPACE": lw.ws,
			"GITHUB_OUTPUT": filepath.Join(tmp, "output"), "INPUT_TINYFORGE-URL": lw.tfURL, "INPUT_TINYFORGE-TOKEN": tfCanary,
			"INPUT_WORKLOAD": "3", "INPUT_TOKEN": forgeCanary,
		} {
			env[k] = v
		}
		if !lw.pat { // both inputs at their default, github.token
			env["INPUT_JOB-TOKEN"] = forgeCanary
		}
		if lw.scheduled {
			os.WriteFile(ev, []byte(`{"schedule":"17 * * * *"}`), 0o644)
			env["GITHUB_EVENT_NAME"] = "schedule"
		}
		if lw.kind == "gitea" {
			env["GITEA_ACTIONS"], env["GITHUB_SERVER_URL"], env["GITHUB_API_URL"] = "true", lw.forgeURL, lw.forgeURL+"/api/v1"
		} else {
			env["GITHUB_API_URL"], env["GITHUB_SERVER_URL"] = lw.forgeURL, "https://github.test"
		}
	}
	cmd := exec.Command(lw.bin, "action")
	cmd.Dir = lw.ws
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("action (%s): %v\n%s", lw.kind, err, out)
	}
}
