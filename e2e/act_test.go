package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// actionTree lays out the action as a release commit has it (action.yml, host/action.yml,
// host/resolve.sh and host/release.sha256 committing to the e2e binary), and a release server
// on loopback that serves that binary. It returns the tree and the server's download count.
func actionTree(t *testing.T) (dir, downloadURL string, downloads *atomic.Int32) {
	t.Helper()
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("act runs jobs on linux/amd64 or linux/arm64 hosts here, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	bin, err := os.ReadFile(filepath.Join(w.bins, "tinyforge-check"))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	for _, f := range []string{"action.yml", "host/action.yml", "host/resolve.sh"} {
		data, err := os.ReadFile(filepath.Join(w.root, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	name := fmt.Sprintf("tinyforge-check_%s_linux_%s", e2eVersion, runtime.GOARCH)
	h := sha256.Sum256(bin)
	sums := hex.EncodeToString(h[:]) + "  " + name + "\n"
	if err := os.WriteFile(filepath.Join(dir, "host", "release.sha256"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	downloads = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v"+e2eVersion+"/"+name {
			http.NotFound(rw, r)
			return
		}
		downloads.Add(1)
		rw.Write(bin)
	}))
	t.Cleanup(srv.Close)
	return dir, srv.URL, downloads
}

// actJob is one workflow run under act, as Gitea's runner would start it.
type actJob struct {
	event     string         // pull_request
	payload   map[string]any // the event payload
	workflow  string         // the workflow file
	workspace map[string]string
	env       map[string]string // the runner's GITHUB_*/GITEA_* variables
	secrets   map[string]string
}

// actResult is what a run left: act's exit code, its log, and the outputs the workflow's last
// step wrote to E2E_OUTPUTS.
type actResult struct {
	code    int
	log     string
	outputs map[string]string
	elapsed time.Duration
}

// runAct runs job with act in host mode (-P ubuntu-latest=-self-hosted, --no-cache-server),
// resolving tinyforge/tinyforge-check@v1 to the local action tree. cache is act's action cache
// folder; its tool_cache is the runner's RUNNER_TOOL_CACHE, kept between runs that share it.
func runAct(t *testing.T, action, cache string, job actJob) actResult {
	t.Helper()
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	for p, content := range job.workspace {
		os.MkdirAll(filepath.Dir(filepath.Join(ws, p)), 0o755)
		if err := os.WriteFile(filepath.Join(ws, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(ws, 0o755)
	// The workspace is a checkout of the PR head: act copies it into the job's workspace at
	// the workflow's actions/checkout step, as a runner's checkout would fetch it.
	for _, git := range [][]string{{"init", "-q", "-b", "feature"}, {"add", "-A"}, {"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", "head"}} {
		c := exec.Command("git", git...)
		c.Dir = ws
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", git, err, out)
		}
	}
	wf := filepath.Join(dir, "workflow.yml")
	event := filepath.Join(dir, "event.json")
	secretFile := filepath.Join(dir, "secrets")
	outputs := filepath.Join(dir, "outputs")
	payload, _ := json.Marshal(job.payload)
	var secrets strings.Builder
	for k, v := range job.secrets {
		fmt.Fprintf(&secrets, "%s=%s\n", k, v)
	}
	for p, data := range map[string]string{wf: job.workflow, event: string(payload), secretFile: secrets.String()} {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{job.event, "-W", wf, "-e", event, "-C", ws,
		"-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--action-offline-mode",
		"--action-cache-path", cache, "--secret-file", secretFile,
		"--local-repository", "tinyforge/tinyforge-check@v1=" + action,
		"--env", "E2E_OUTPUTS=" + outputs}
	for k, v := range job.env {
		args = append(args, "--env", k+"="+v)
	}
	cmd := exec.Command(filepath.Join(w.tools, "act"), args...)
	cmd.Dir = ws
	home := filepath.Join(dir, "home")
	os.MkdirAll(home, 0o755)
	// Host mode hands act's own environment to the job: keep it to what a runner host has.
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8"}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	res := actResult{log: string(out), outputs: map[string]string{}, elapsed: time.Since(start)}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("act: %v", err)
		}
		res.code = ee.ExitCode()
	}
	if f, err := os.Open(outputs); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				res.outputs[k] = v
			}
		}
		f.Close()
	}
	return res
}

// checkWorkflow is the workflow a Gitea user writes for host runners (examples/
// gitea-host-runner.yml), plus a step before the check that writes a variant of the file into
// the workspace (workspaceVariant, never committed: the check must report the committed file),
// and a last step that hands the outputs to the test.
func checkWorkflow(tinyforgeURL, downloadURL, failOn string) string {
	return `name: tinyforge
on: pull_request
jobs:
  gitops:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: an earlier step writes its own variant of the file into the workspace
        run: |
          printf 'version: 1\ndeploy:\n  port: ` + workspaceVariantPort + `\n' > .tinyforge.yml
          echo "wrote the workspace variant: $(grep -o 'port: [0-9]*' .tinyforge.yml)"
      - id: check
        uses: tinyforge/tinyforge-check/host@v1
        with:
          tinyforge-url: ` + tinyforgeURL + `
          tinyforge-token: ${{ secrets.TINYFORGE_TOKEN }}
          workload: web
          token: ${{ secrets.FORGE_TOKEN }}
          fail-on: ` + failOn + `
          download-url: ` + downloadURL + `
      - if: always()
        env:
          VERDICT: ${{ steps.check.outputs.verdict }}
          VALID: ${{ steps.check.outputs.valid }}
          DRIFT: ${{ steps.check.outputs.drift }}
          DRIFT_COUNT: ${{ steps.check.outputs.drift-count }}
          SYNC_URL: ${{ steps.check.outputs.sync-url }}
          COMMENT_URL: ${{ steps.check.outputs.comment-url }}
        run: |
          {
            echo "verdict=$VERDICT"
            echo "valid=$VALID"
            echo "drift=$DRIFT"
            echo "drift-count=$DRIFT_COUNT"
            echo "sync-url=$SYNC_URL"
            echo "comment-url=$COMMENT_URL"
          } > "$E2E_OUTPUTS"
`
}

// workspaceVariantPort is the port of the variant of .tinyforge.yml that a step of
// checkWorkflow writes into the workspace before the check; no commit ever declares it.
const workspaceVariantPort = "4242"

// prEvent is the pull_request payload Gitea sends: its own JSON of the PR and the repo.
func prEvent(t *testing.T, f *fixture, action string) map[string]any {
	t.Helper()
	g := w.gitea
	var pr, repo map[string]any
	g.must(t, tokenAuth(f.botToken), "GET", fmt.Sprintf("/repos/%s/%s/pulls/%d", f.owner.user, f.repo, f.number), nil, http.StatusOK, &pr)
	g.must(t, tokenAuth(f.botToken), "GET", "/repos/"+f.owner.user+"/"+f.repo, nil, http.StatusOK, &repo)
	return map[string]any{"action": action, "number": f.number, "pull_request": pr, "repository": repo,
		"sender": map[string]any{"login": f.owner.user}, "commit_id": ""}
}

// giteaRunnerEnv is what Gitea's runner sets for a pull_request job (recorded from Gitea 1.26:
// refs/pull/N/head, API URL ending in /api/v1, GITEA_ACTIONS, no GITHUB_TOKEN).
// The check runs with its default settings; TINYFORGE_COMMENT_VERIFY_DELAY in the test's own
// environment is passed on (2s times the wait before issue 24, side by side).
func giteaRunnerEnv(f *fixture, runID int) map[string]string {
	env := map[string]string{
		"GITEA_ACTIONS": "true", "GITHUB_SERVER_URL": w.gitea.url, "GITHUB_API_URL": w.gitea.url + "/api/v1",
		"GITHUB_REPOSITORY": f.owner.user + "/" + f.repo, "GITHUB_REPOSITORY_OWNER": f.owner.user,
		"GITHUB_REF": fmt.Sprintf("refs/pull/%d/head", f.number), "GITHUB_SHA": f.head,
		"GITHUB_BASE_REF": "main", "GITHUB_HEAD_REF": "feature", "GITHUB_ACTOR": f.owner.user,
		"GITHUB_RUN_ID": fmt.Sprint(runID), "GITEA_RUN_ID": fmt.Sprint(runID),
	}
	if d := os.Getenv("TINYFORGE_COMMENT_VERIFY_DELAY"); d != "" {
		env["TINYFORGE_COMMENT_VERIFY_DELAY"] = d
	}
	return env
}

// TestActionUnderActOnGitea runs host/action.yml through a real workflow runner (act, host
// mode) on a PR of the real Gitea, against the reference server: drift, a pushed fix, an
// invalid file, and a token that may comment but not set statuses, as a fork PR's.
func TestActionUnderActOnGitea(t *testing.T) {
	requireWorld(t)
	g := w.gitea
	const inSync = "version: 1\ndeploy:\n  port: 8080\n"
	f := newFixture(t, false, map[string]string{".tinyforge.yml": inSync})
	srv := startRefServer(t)
	wl := srv.workload(t, "web", f.owner.user, f.repo, f.botToken, `{"port":8080,"dockerfile_path":"Dockerfile"}`)
	action, downloadURL, downloads := actionTree(t)
	cache := t.TempDir()
	secrets := map[string]string{"TINYFORGE_TOKEN": srv.viewerToken, "FORGE_TOKEN": f.botToken}
	run := func(runID int, action string, content string, failOn string, secrets map[string]string) actResult {
		t.Helper()
		word := "synchronized" // Gitea's spelling for a push to the PR
		if runID == 1 {
			word = "opened"
		}
		return runAct(t, action, cache, actJob{event: "pull_request", payload: prEvent(t, f, word),
			workflow: checkWorkflow(srv.url, downloadURL, failOn), workspace: map[string]string{".tinyforge.yml": content},
			env: giteaRunnerEnv(f, runID), secrets: secrets})
	}
	latestStatus := func(sha string) giteaStatus {
		st := g.statuses(t, tokenAuth(f.botToken), f.owner.user, f.repo, sha)
		if len(st) == 0 {
			t.Fatalf("no status on %s", sha)
		}
		return st[len(st)-1] // in creation order: the last is the newest
	}

	// 1. The PR drifts from live: a warning status, one comment whose Sync link points at the
	// reference server, and outputs that the next step reads. The binary is downloaded once.
	drifting := "version: 1\ndeploy:\n  port: 9090\n"
	f.openPR(t, ".tinyforge.yml", drifting)
	res := run(1, action, drifting, "invalid,error", secrets)
	t.Logf("run 1 (download, drift) took %v", res.elapsed)
	if res.code != 0 {
		t.Fatalf("drift run: act exit %d\n%s", res.code, res.log)
	}
	wantSync := fmt.Sprintf("%s/apps/%d?", srv.url, wl.ID)
	if res.outputs["verdict"] != "drift" || res.outputs["drift"] != "true" || res.outputs["drift-count"] != "1" ||
		!strings.HasPrefix(res.outputs["sync-url"], wantSync) || !strings.Contains(res.outputs["sync-url"], "commit="+f.head) ||
		!strings.HasPrefix(res.outputs["comment-url"], g.url+"/") {
		t.Errorf("outputs read by the next step: %v (want drift, 1 field, a sync-url under %s pinned to %s)\n%s", res.outputs, wantSync, f.head, res.log)
	}
	if st := latestStatus(f.head); st.State != "warning" || st.Context != "tinyforge/gitops" || !strings.HasPrefix(st.TargetURL, wantSync) {
		t.Errorf("status after drift: %+v", st)
	}
	comments := f.botComments(t)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, wantSync) || !strings.Contains(comments[0].Body, "9090") {
		t.Fatalf("comments after drift: %+v", comments)
	}
	if strings.Contains(comments[0].Body, workspaceVariantPort) || !strings.Contains(res.log, "wrote the workspace variant: port: "+workspaceVariantPort) {
		// The second condition proves the variant step ran before the check (act logs each
		// step's output).
		t.Errorf("the comment shows the workspace's variant (port %s), not the committed file, or the variant step did not run:\n%s\n%s",
			workspaceVariantPort, comments[0].Body, res.log)
	}
	commentID := comments[0].ID
	if downloads.Load() != 1 {
		t.Errorf("%d downloads of the binary, want 1", downloads.Load())
	}
	if strings.Contains(res.log, srv.viewerToken) || strings.Contains(res.log, f.botToken) {
		t.Error("a token appears in the job log")
	}

	// 2. A pushed fix: the same comment is edited, the status turns success, and the binary
	// comes from the tool cache.
	f.head = g.putFile(t, f.owner, f.repo, "feature", ".tinyforge.yml", inSync)
	res = run(2, action, inSync, "invalid,error", secrets)
	t.Logf("run 2 (cached, in sync) took %v", res.elapsed)
	if res.code != 0 || res.outputs["verdict"] != "in_sync" {
		t.Fatalf("fix run: exit %d, outputs %v\n%s", res.code, res.outputs, res.log)
	}
	if st := latestStatus(f.head); st.State != "success" {
		t.Errorf("status after the fix: %+v", st)
	}
	if comments = f.botComments(t); len(comments) != 1 || comments[0].ID != commentID || strings.Contains(comments[0].Body, "9090") {
		t.Errorf("after the fix, want comment %d edited in place: %+v", commentID, comments)
	}
	if downloads.Load() != 1 {
		t.Errorf("the second run downloaded again (%d downloads); want the tool cache", downloads.Load())
	}

	// 3. An invalid file: a failure status, positions in the log, and the job fails.
	invalid := "version: 1\ndeploy:\n  prot: 8080\n"
	f.head = g.putFile(t, f.owner, f.repo, "feature", ".tinyforge.yml", invalid)
	res = run(3, action, invalid, "invalid,error", secrets)
	if res.code == 0 || res.outputs["verdict"] != "invalid" || res.outputs["valid"] != "false" {
		t.Errorf("invalid run: exit %d, outputs %v", res.code, res.outputs)
	}
	if !strings.Contains(res.log, ".tinyforge.yml:3:3: error:") || !regexp.MustCompile(`::error [^:]*file=\.tinyforge\.yml,line=3,`).MatchString(res.log) || !strings.Contains(res.log, "::error col=3,") {
		t.Errorf("the log lacks the diagnostic's position (.tinyforge.yml:3:3):\n%s", res.log)
	}
	if st := latestStatus(f.head); st.State != "failure" {
		t.Errorf("status after an invalid file: %+v", st)
	}

	// 4. A token that may comment but not set statuses (read:repository instead of
	// write:repository), as a fork PR's: the refused status is a notice, the comment is still
	// updated, and the exit code follows fail-on.
	readOnly := g.token(t, f.bot, "read:repository", "write:issue", "read:user")
	f.head = g.putFile(t, f.owner, f.repo, "feature", ".tinyforge.yml", drifting)
	before := len(g.statuses(t, tokenAuth(f.botToken), f.owner.user, f.repo, f.head))
	ro := map[string]string{"TINYFORGE_TOKEN": srv.viewerToken, "FORGE_TOKEN": readOnly}
	res = run(4, action, drifting, "invalid,error", ro)
	if res.code != 0 || res.outputs["verdict"] != "drift" {
		t.Errorf("read-only run with fail-on invalid,error: exit %d, outputs %v\n%s", res.code, res.outputs, res.log)
	}
	if !strings.Contains(res.log, "::notice title=tinyforge-check::could not set the commit status: the token is read-only") {
		t.Errorf("no notice about the refused status in:\n%s", res.log)
	}
	if after := len(g.statuses(t, tokenAuth(f.botToken), f.owner.user, f.repo, f.head)); after != before {
		t.Errorf("a read-only token set a status (%d -> %d)", before, after)
	}
	if comments = f.botComments(t); len(comments) != 1 || comments[0].ID != commentID || !strings.Contains(comments[0].Body, "9090") {
		t.Errorf("the read-only run did not update comment %d: %+v", commentID, comments)
	}
	res = run(5, action, drifting, "drift", ro)
	if res.code == 0 || res.outputs["verdict"] != "drift" {
		t.Errorf("read-only run with fail-on drift: exit %d (want a failed job), outputs %v", res.code, res.outputs)
	}
}
