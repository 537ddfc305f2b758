package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
	"github.com/tinyforge/tinyforge-check/internal/secret"
	"github.com/tinyforge/tinyforge-check/internal/testenv"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// The end-to-end tests build the binary exactly as the Dockerfile does and run it as a runner
// would: an event payload file, INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files,
// against fake forges and a fake Tinyforge on loopback.

const (
	e2eHead      = "1111111111111111111111111111111111111111"
	e2eBase      = "2222222222222222222222222222222222222222"
	e2ePush      = "3333333333333333333333333333333333333333"
	tfCanary     = "tfv_CANARY_0f9d8e7c6b5a"
	forgeCanary  = "ghp_CANARY_a1b2c3d4e5f6"
	readOnlyTok  = "ghs_READONLY_CANARY_99"
	botLogin     = "tf-bot"
	e2eInSync    = "version: 1\ndeploy:\n  port: 8080\n  deploy_strategy: rolling\n"
	e2eDrift     = "version: 1\ndeploy:\n  port: 9090\n  deploy_strategy: rolling\n"
	e2eInvalid   = "version: 1\ndeploy:\n  prot: 8080\n  deploy_strategy: Rolling\n"
	e2eLiveWeb   = `{"port":8080,"healthcheck":"/healthz","deploy_strategy":"rolling","dockerfile_path":"Dockerfile"}`
	e2eLiveSite  = `{"deploy_strategy":"recreate","build_command":"make"}`
	e2eStaticBad = "version: 1\ndeploy:\n  deploy_strategy: rolling\n  port: 8080\n"
)

// buildAction builds tinyforge-check with the Dockerfile's own go build command into dir.
func buildAction(tb testing.TB, dir string) string {
	tb.Helper()
	line := dockerBuildCommand(tb)
	out := filepath.Join(dir, "tinyforge-check")
	if !strings.Contains(line, "-o /out/tinyforge-check") {
		tb.Fatalf("unexpected build command %q", line)
	}
	line = strings.Replace(line, "-o /out/tinyforge-check", "-o "+out, 1)
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = testenv.ModuleRoot(tb)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", line, err, b)
	}
	return out
}

// harness is one fake world: a forge (internal/forgefake, validated against the forge's API
// description where one exists), a Tinyforge and a workspace.
type harness struct {
	t     testing.TB
	bin   string
	kind  string   // github, gitea, gitlab
	forge e2eForge // nil when a test brings its own forge
	owner string   // the repository's owner on the forge; the repository is always "r"
	tf    *fakeTinyforge
	ws    string
}

// e2eForge is what the end-to-end tests use of a forgefake fake.
type e2eForge interface {
	URL() string
	AddToken(token string, tk forgefake.Token)
	PutFileAt(owner, name, sha, path string, content []byte)
	AddComment(owner, name string, number int, author, body string) int64
	Comments(owner, name string, number int) []forgefake.Comment
	Statuses(owner, name, sha string) []forgefake.Status
	Requests() []forgefake.Request
	ResetRequests()
}

// e2eStatus is one commit status the forge stored, with the commit it is on.
type e2eStatus struct {
	SHA, State, Context, Description, TargetURL string
}

func webWorkload(tfURL string) tinyforge.Workload {
	return tinyforge.Workload{ID: 3, Name: "web", SourceType: "dockerfile", SourceConfig: json.RawMessage(e2eLiveWeb), Version: 4,
		GitOps: tinyforge.GitOpsSettings{Enabled: true, Path: ".tinyforge.yml"}}
}

func newHarness(t testing.TB, bin, forgeKind string) *harness {
	h := &harness{t: t, bin: bin, kind: forgeKind, owner: "o", ws: t.TempDir()}
	readOnly := forgefake.Token{Login: "github-actions[bot]", ReadOnly: true}
	switch forgeKind {
	case "github":
		h.forge = forgefake.NewGitHub(t, forgefake.Options{Spec: loopSpecs.GitHub(t)})
		readOnly.Integration = true // a fork PR's job token: GET /user answers 403 too
	case "gitea":
		h.forge = forgefake.NewGitea(t, forgefake.Options{Spec: loopSpecs.Gitea(t)})
	case "gitlab":
		h.owner = "group/sub" // GitLab namespaces nest
		h.forge = forgefake.NewGitLab(t, forgefake.Options{})
	default:
		t.Fatalf("unknown forge %q", forgeKind)
	}
	// The commits the events name exist, so statuses can be set on them.
	for _, sha := range []string{e2eHead, e2eBase, e2ePush} {
		h.forge.PutFileAt(h.owner, "r", sha, "", nil)
	}
	disabled := webWorkload("")
	disabled.ID, disabled.Name, disabled.GitOps.Enabled = 4, "old", false
	site := tinyforge.Workload{ID: 5, Name: "site", SourceType: "static", SourceConfig: json.RawMessage(e2eLiveSite),
		GitOps: tinyforge.GitOpsSettings{Enabled: true, Path: ".tinyforge.yml"}}
	h.tf = newFakeTinyforge(t, tfCanary, webWorkload(""), disabled, site)
	h.forge.AddToken(forgeCanary, forgefake.Token{Login: botLogin})
	h.forge.AddToken(readOnlyTok, readOnly)
	return h
}

// newIntegrationPR is a GitHub harness whose PR drifts from live, with token an installation
// token (GET /user answers it 403, as GitHub does) that writes as login.
func newIntegrationPR(t *testing.T, bin, token, login string) *harness {
	h := newHarness(t, bin, "github")
	h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
	h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
	h.forge.AddToken(token, forgefake.Token{Login: login, Integration: true})
	return h
}

// setFile stores content at path in the commit sha of the repository.
func (h *harness) setFile(sha, path, content string) {
	h.forge.PutFileAt(h.owner, "r", sha, path, []byte(content))
}

// comments returns the comments on PR 7, oldest first.
func (h *harness) comments() []forgefake.Comment {
	return h.forge.Comments(h.owner, "r", 7)
}

// statuses returns the statuses on the events' commits (the only ones the forge accepts
// statuses on), head, base then push, each oldest first.
func (h *harness) statuses() []e2eStatus {
	var out []e2eStatus
	for _, sha := range []string{e2eHead, e2eBase, e2ePush} {
		for _, st := range h.forge.Statuses(h.owner, "r", sha) {
			out = append(out, e2eStatus{SHA: sha, State: st.State, Context: st.Context, Description: st.Description, TargetURL: st.TargetURL})
		}
	}
	return out
}

// requestLog returns the forge requests since the last ResetRequests, as "METHOD /path".
func (h *harness) requestLog() []string {
	var out []string
	for _, r := range h.forge.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// writeCount returns how many forge requests since the last ResetRequests were not GETs.
func (h *harness) writeCount() int { return forgeWrites(h.forge) }

// forgeWrites counts the requests a fake forge recorded that were not GETs.
func forgeWrites(f e2eForge) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

func (h *harness) writeWorkspace(files map[string]string) {
	for p, s := range files {
		full := filepath.Join(h.ws, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
}

// actionResult is what one run left behind.
type actionResult struct {
	code           int
	stdout, stderr string
	outputs        map[string]string
	summary        string
}

// env returns the variables of an Actions run of event with payload; inputs are INPUT_* names
// without the prefix (as action.yml spells them).
func (h *harness) env(event string, payload any, inputs map[string]string) map[string]string {
	dir := h.t.TempDir()
	ev := filepath.Join(dir, "event.json")
	b, err := json.Marshal(payload)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(ev, b, 0o644); err != nil {
		h.t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": ev, "GITHUB_REPOSITORY": "o/r",
		"GITHUB_SHA": e2ePush, "GITHUB_RUN_ID": "100", "GITHUB_WORKSPACE": h.ws,
		"GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"TINYFORGE_COMMENT_VERIFY_DELAY": "0s",
	}
	switch h.kind {
	case "github":
		env["GITHUB_API_URL"] = h.forge.URL()
		env["GITHUB_SERVER_URL"] = "https://github.test"
	case "gitea":
		env["GITEA_ACTIONS"] = "true"
		env["GITHUB_SERVER_URL"] = h.forge.URL()
		env["GITHUB_API_URL"] = h.forge.URL() + "/api/v1"
	}
	defaults := map[string]string{"tinyforge-url": h.tf.srv.URL, "tinyforge-token": tfCanary, "workload": "web", "token": forgeCanary}
	for k, v := range defaults {
		if _, ok := inputs[k]; !ok {
			inputs[k] = v
		}
	}
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	return env
}

// gitlabEnv returns the variables of a GitLab CI job of this harness's project, with the
// Tinyforge settings and the forge token; vars add the pipeline's own (CI_COMMIT_SHA,
// CI_PIPELINE_ID, the merge request's or CI_PIPELINE_SOURCE, ...).
func (h *harness) gitlabEnv(vars map[string]string) map[string]string {
	env := map[string]string{
		"GITLAB_CI": "true", "CI_SERVER_URL": h.forge.URL(), "CI_PROJECT_PATH": "group/sub/r", "CI_PROJECT_DIR": h.ws,
		"TINYFORGE_URL": h.tf.srv.URL, "TINYFORGE_TOKEN": tfCanary, "TINYFORGE_WORKLOAD": "web", "GITLAB_TOKEN": forgeCanary,
		"TINYFORGE_COMMENT_VERIFY_DELAY": "0s",
	}
	maps.Copy(env, vars)
	return env
}

func (h *harness) run(env map[string]string, args ...string) actionResult {
	h.t.Helper()
	cmd := exec.Command(h.bin, args...)
	cmd.Dir = h.ws
	cmd.Env = []string{}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := actionResult{stdout: stdout.String(), stderr: stderr.String(), outputs: map[string]string{}}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		h.t.Fatalf("run: %v", err)
	}
	if p := env["GITHUB_OUTPUT"]; p != "" {
		if b, err := os.ReadFile(p); err == nil {
			if res.outputs, err = parseOutputFile(string(b)); err != nil {
				h.t.Fatalf("GITHUB_OUTPUT: %v\n%s", err, b)
			}
		}
	}
	if p := env["GITHUB_STEP_SUMMARY"]; p != "" {
		if b, err := os.ReadFile(p); err == nil {
			res.summary = string(b)
		}
	}
	h.assertNoSecrets(res)
	return res
}

// parseOutputFile reads GITHUB_OUTPUT as the runner does (name<<DELIM ... DELIM, or name=value).
func parseOutputFile(s string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		name, delim, ok := strings.Cut(l, "<<")
		if !ok {
			n, v, ok := strings.Cut(l, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: %q", i+1, l)
			}
			out[n] = v
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("unterminated %s", name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("output %s written twice", name)
		}
		out[name] = strings.Join(val, "\n")
	}
	return out, nil
}

// assertNoSecrets checks that no token appears anywhere but in ::add-mask:: lines.
func (h *harness) assertNoSecrets(res actionResult) {
	h.t.Helper()
	var places []string
	for _, l := range strings.Split(res.stdout, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			places = append(places, l)
		}
	}
	places = append(places, res.stderr, res.summary)
	for k, v := range res.outputs {
		places = append(places, k+"="+v)
	}
	if h.forge != nil {
		for _, cm := range h.comments() {
			places = append(places, cm.Body)
		}
		for _, st := range h.statuses() {
			places = append(places, st.Description, st.TargetURL)
		}
		if f, ok := h.forge.(interface {
			Issues(owner, repo string) []forgefake.Issue
		}); ok {
			for _, is := range f.Issues(h.owner, "r") {
				places = append(places, is.Title, is.Body)
				for _, cm := range h.forge.Comments(h.owner, "r", is.Number) {
					places = append(places, cm.Body)
				}
			}
		}
	}
	// Any form of a token (base64, percent-encoded, an 8-byte piece) is a leak: Redact would
	// change the text.
	for _, p := range places {
		if secret.Redact(p, tfCanary, forgeCanary, readOnlyTok) != p {
			h.t.Errorf("a token, or a form or piece of one, leaked: %q", p)
		}
	}
}

// commandLines returns the workflow commands of stdout, and fails on any other line that a
// runner would read as a command.
func commandLines(t *testing.T, stdout string) []string {
	t.Helper()
	known := regexp.MustCompile(`^::(add-mask|error|warning|notice)( [^:]*)?::`)
	var cmds []string
	for _, l := range strings.Split(stdout, "\n") {
		trimmed := strings.TrimLeftFunc(l, unicode.IsSpace)
		if strings.HasPrefix(trimmed, "::") || strings.Contains(l, "##[") {
			if !known.MatchString(l) {
				t.Errorf("stdout line forms an unexpected workflow command: %q", l)
			}
			cmds = append(cmds, l)
		}
	}
	return cmds
}

func prPayload(action string, fork bool) map[string]any {
	head := "o/r"
	if fork {
		head = "someone/r"
	}
	return map[string]any{"action": action, "number": 7, "pull_request": map[string]any{
		"number": 7, "state": "open",
		"head": map[string]any{"sha": e2eHead, "ref": "feature", "repo": map[string]any{"full_name": head}},
		"base": map[string]any{"sha": e2eBase, "ref": "main", "repo": map[string]any{"full_name": "o/r"}},
	}, "repository": map[string]any{"full_name": "o/r"}}
}

func pushPayload(gitea bool) map[string]any {
	if gitea { // Gitea push payloads may lack head_commit and before
		return map[string]any{"ref": "refs/heads/main", "after": e2ePush, "repository": map[string]any{"full_name": "o/r"}}
	}
	return map[string]any{"ref": "refs/heads/main", "before": e2eBase, "after": e2ePush,
		"head_commit": map[string]any{"id": e2ePush}, "repository": map[string]any{"full_name": "o/r"}}
}

func TestActionEndToEnd(t *testing.T) {
	t.Parallel()
	bin := buildAction(t, t.TempDir())
	t.Run("github", func(t *testing.T) { testActionGitHub(t, bin) })
	t.Run("gitea", func(t *testing.T) { testActionGitea(t, bin) })
	t.Run("gitlab", func(t *testing.T) { testActionGitLab(t, bin) })
}

func testActionGitHub(t *testing.T, bin string) {
	pinned := func(h *harness, content, sha string) string {
		return fmt.Sprintf("%s/apps/3?file=%s&commit=%s#gitops", h.tf.srv.URL, gitops.FileSHA([]byte(content)), sha)
	}

	t.Run("drift on a PR: status on the head, one comment, outputs and summary", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
		res := h.run(h.env("pull_request", prPayload("synchronize", false), map[string]string{}))
		if res.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
		}
		wantStatus := []e2eStatus{{SHA: e2eHead, State: "success", Context: "tinyforge/gitops",
			Description: "1 field differs from live: Sync required", TargetURL: pinned(h, e2eDrift, e2eHead)}}
		if diff := cmp.Diff(wantStatus, h.statuses()); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		cs := h.comments()
		if len(cs) != 1 || cs[0].Author != botLogin || !strings.HasPrefix(cs[0].Body, "<!-- tinyforge-check:tinyforge/gitops run=100 -->\n### ⚠️ Tinyforge GitOps: drift") {
			t.Fatalf("comments = %+v", cs)
		}
		if !strings.Contains(cs[0].Body, "| `deploy.port` | 8080 | 9090 | 8080 | changed by this PR |") {
			t.Errorf("comment lacks the three-way row:\n%s", cs[0].Body)
		}
		wantOut := map[string]string{"verdict": "drift", "valid": "true", "drift": "true", "drift-count": "1",
			"drift-json":  `[{"field":"deploy.port","repo_value":"9090","live_value":"8080"}]`,
			"sync-url":    pinned(h, e2eDrift, e2eHead),
			"comment-url": fmt.Sprintf("%s/o/r/pull/7#issuecomment-%d", h.forge.URL(), cs[0].ID), "issue-url": ""}
		if diff := cmp.Diff(wantOut, res.outputs); diff != "" {
			t.Errorf("outputs (-want +got):\n%s", diff)
		}
		if !strings.Contains(res.summary, "changed by this PR") || !strings.Contains(res.summary, "<pre>version: 1") {
			t.Errorf("summary lacks the table or the file:\n%s", res.summary)
		}
		if got := commandLines(t, res.stdout); !cmp.Equal(got, []string{"::add-mask::" + tfCanary, "::add-mask::" + forgeCanary}) {
			t.Errorf("commands = %q, want the two masks first and nothing else", got)
		}
		if !strings.HasPrefix(res.stdout, "::add-mask::") {
			t.Errorf("masks are not the first output:\n%s", res.stdout)
		}

		// A rerun with nothing new: no comment write, at most 5 requests in all.
		h.forge.ResetRequests()
		h.tf.resetLog()
		writes := h.writeCount()
		res = h.run(h.env("pull_request", prPayload("synchronize", false), map[string]string{}))
		if res.code != 0 {
			t.Fatalf("rerun exit %d: %s", res.code, res.stderr)
		}
		if got := h.writeCount() - writes; got != 1 { // the status only
			t.Errorf("rerun made %d writes, want 1 (the status): %q", got, h.requestLog())
		}
		reqs := append(h.tf.requestLog(), h.requestLog()...)
		if len(reqs) > 6 { // by name: list + get; by id it is 5
			t.Errorf("rerun made %d requests: %q", len(reqs), reqs)
		}
		if len(h.comments()) != 1 {
			t.Errorf("rerun added a comment")
		}
	})

	t.Run("rerun by id costs at most 5 requests; 250 comments cost 2 more pages", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
		in := map[string]string{"workload": "3"}
		if res := h.run(h.env("pull_request", prPayload("opened", false), in)); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		h.forge.ResetRequests()
		h.tf.resetLog()
		if res := h.run(h.env("pull_request", prPayload("synchronize", false), map[string]string{"workload": "3"})); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		want := []string{"GET /api/workloads/3"}
		if diff := cmp.Diff(want, h.tf.requestLog()); diff != "" {
			t.Errorf("tinyforge requests (-want +got):\n%s", diff)
		}
		if n := len(h.requestLog()); n > 4 {
			t.Errorf("forge requests = %d, want <= 4: %q", n, h.requestLog())
		}
		// 250 comments by others before ours.
		h2 := newHarness(t, bin, "github")
		h2.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		h2.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
		h2.forge.AddToken("other-token", forgefake.Token{Login: "alice"})
		for i := range 250 {
			h2.forge.AddComment(h2.owner, "r", 7, "alice", fmt.Sprintf("comment %d", i))
		}
		if res := h2.run(h2.env("pull_request", prPayload("opened", false), map[string]string{"workload": "3"})); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		h2.forge.ResetRequests()
		if res := h2.run(h2.env("pull_request", prPayload("synchronize", false), map[string]string{"workload": "3"})); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		pages := 0
		for _, r := range h2.requestLog() {
			if r == "GET /repos/o/r/issues/7/comments" {
				pages++
			}
		}
		if pages != 3 || len(h2.requestLog()) != 4+2 {
			t.Errorf("with 251 comments: %d list pages, %d forge requests; want 3 and 6: %q", pages, len(h2.requestLog()), h2.requestLog())
		}
		if got := len(h2.comments()); got != 251 {
			t.Errorf("comments = %d, want 251", got)
		}
	})

	t.Run("job token: an unchanged rerun with 250 comments costs 5 forge requests, none for the identity", func(t *testing.T) {
		const jobTok = "ghs_JOB_CANARY_5e6f"
		h := newIntegrationPR(t, bin, jobTok, "github-actions[bot]")
		for i := range 250 {
			h.forge.AddComment(h.owner, "r", 7, "alice", fmt.Sprintf("comment %d", i))
		}
		payload := func(action string) map[string]any {
			p := prPayload(action, false)
			p["pull_request"].(map[string]any)["comments"] = len(h.comments())
			return p
		}
		// Both inputs at their default, github.token, as a workflow that sets neither gets them.
		in := func() map[string]string {
			return map[string]string{"workload": "3", "token": jobTok, "job-token": jobTok}
		}
		if res := h.run(h.env("pull_request", payload("opened"), in())); res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		h.forge.ResetRequests()
		res := h.run(h.env("pull_request", payload("synchronize"), in()))
		if res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		want := []string{"GET /repos/o/r/contents/.tinyforge.yml", "GET /repos/o/r/issues/7/comments",
			"GET /repos/o/r/issues/7/comments", "GET /repos/o/r/issues/7/comments", "POST /repos/o/r/statuses/" + e2eHead}
		got := h.requestLog()
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("forge requests of the rerun (-want +got):\n%s", diff)
		}
		if cs := h.comments(); len(cs) != 251 || cs[250].Author != "github-actions[bot]" {
			t.Errorf("comments: %d, the last by %q; want 251, ours last", len(cs), cs[len(cs)-1].Author)
		}
		var masks []string
		for _, l := range commandLines(t, res.stdout) {
			if strings.HasPrefix(l, "::add-mask::") {
				masks = append(masks, l)
			}
		}
		if !cmp.Equal(masks, []string{"::add-mask::" + tfCanary, "::add-mask::" + jobTok}) {
			t.Errorf("masks: %q, want the two secrets once each", masks)
		}
		// Under nektos/act, github.token is whatever token the user passed: it is asked.
		h.forge.ResetRequests()
		env := h.env("pull_request", payload("synchronize"), in())
		env["ACT"] = "true"
		if res := h.run(env); res.code != 0 {
			t.Fatalf("under act: exit %d: %s", res.code, res.stderr)
		}
		if !slices.Contains(h.requestLog(), "GET /user") {
			t.Errorf("under act the identity was assumed: %q", h.requestLog())
		}
	})

	t.Run("a GitHub App's token with token-login: its own comment found, no GET /user", func(t *testing.T) {
		const appTok = "ghs_APP_CANARY_77aa"
		h := newIntegrationPR(t, bin, appTok, "tinyforge-app[bot]")
		in := func() map[string]string {
			return map[string]string{"workload": "3", "token": appTok, "job-token": "ghs_other_job_token", "token-login": "tinyforge-app[bot]"}
		}
		for run, action := range []string{"opened", "synchronize"} {
			h.forge.ResetRequests()
			if res := h.run(h.env("pull_request", prPayload(action, false), in())); res.code != 0 {
				t.Fatalf("run %d: exit %d: %s", run+1, res.code, res.stderr)
			}
			if slices.Contains(h.requestLog(), "GET /user") {
				t.Errorf("run %d asked GET /user though token-login was given: %q", run+1, h.requestLog())
			}
		}
		if w := h.writeCount(); w != 1 { // the second run: the status only
			t.Errorf("the rerun made %d writes, want 1 (the status): %q", w, h.requestLog())
		}
		if cs := h.comments(); len(cs) != 1 || cs[0].Author != "tinyforge-app[bot]" {
			t.Errorf("comments: %+v, want one by the app", cs)
		}
		res := h.run(h.env("pull_request", prPayload("synchronize", false), map[string]string{"workload": "3", "token": appTok, "token-login": "my app"}))
		if res.code != 2 || !strings.Contains(res.stdout+res.stderr, `token-login "my app" is not a user name`) {
			t.Errorf("a bad token-login: exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	})

	t.Run("comment auto: no first comment in sync, a drift comment refreshed to in sync, then no write", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eInSync})
		h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
		pr := func() map[string]string {
			return h.env("pull_request", prPayload("synchronize", false), map[string]string{"workload": "3"})
		}
		res := h.run(pr())
		if res.code != 0 || res.outputs["verdict"] != "in_sync" || res.outputs["comment-url"] != "" || len(h.comments()) != 0 {
			t.Fatalf("in sync: exit %d outputs %v, %d comments", res.code, res.outputs, len(h.comments()))
		}
		if n := len(h.requestLog()) + len(h.tf.requestLog()); n > 5 {
			t.Errorf("in-sync run made %d requests: %q", n, h.requestLog())
		}
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		if res := h.run(pr()); res.code != 0 || len(h.comments()) != 1 {
			t.Fatalf("drift: exit %d, %d comments", res.code, len(h.comments()))
		}
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eInSync})
		res = h.run(pr())
		cs := h.comments()
		if res.code != 0 || len(cs) != 1 || !strings.Contains(cs[0].Body, "### ✅ Tinyforge GitOps: in sync") || res.outputs["comment-url"] == "" {
			t.Fatalf("back in sync: exit %d, comments %+v, outputs %v", res.code, cs, res.outputs)
		}
		h.forge.ResetRequests()
		h.tf.resetLog()
		writes := h.writeCount()
		res = h.run(pr())
		if got := h.writeCount() - writes; res.code != 0 || got != 1 || res.outputs["comment-url"] != fmt.Sprintf("%s/o/r/pull/7#issuecomment-%d", h.forge.URL(), cs[0].ID) {
			t.Errorf("unchanged in-sync rerun: exit %d, %d writes, outputs %v", res.code, got, res.outputs)
		}
		if n := len(h.requestLog()) + len(h.tf.requestLog()); n > 5 {
			t.Errorf("unchanged in-sync rerun made %d requests: %q", n, h.requestLog())
		}
	})

	t.Run("a newer run's comment is not overwritten", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		newer := "<!-- tinyforge-check:tinyforge/gitops run=999 -->\nnewer report"
		h.forge.AddComment(h.owner, "r", 7, botLogin, newer)
		res := h.run(h.env("pull_request", prPayload("synchronize", false), map[string]string{}))
		if res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		if cs := h.comments(); len(cs) != 1 || cs[0].Body != newer {
			t.Errorf("comments = %+v, want the newer run's untouched", cs)
		}
	})

	t.Run("drift after merge on push with fail-on drift", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		res := h.run(h.env("push", pushPayload(false), map[string]string{"fail-on": "invalid,drift,error"}))
		if res.code != 1 {
			t.Fatalf("exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
		}
		want := []e2eStatus{{SHA: e2ePush, State: "failure", Context: "tinyforge/gitops",
			Description: "1 field differs from live: Sync required", TargetURL: pinned(h, e2eDrift, e2ePush)}}
		if diff := cmp.Diff(want, h.statuses()); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		if len(h.comments()) != 0 {
			t.Errorf("a push wrote a comment")
		}
		if !strings.Contains(res.stdout, "\n  deploy.port: repo 9090, live 8080\n") {
			t.Errorf("stdout lacks the drift line:\n%s", res.stdout)
		}
	})

	t.Run("in sync on push", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eInSync})
		res := h.run(h.env("push", pushPayload(false), map[string]string{}))
		if res.code != 0 || res.outputs["verdict"] != "in_sync" || res.outputs["drift-json"] != "[]" {
			t.Fatalf("exit %d, outputs %v\n%s", res.code, res.outputs, res.stderr)
		}
		if st := h.statuses(); len(st) != 1 || st[0].State != "success" || st[0].Description != "In sync: 2 declared fields match live" {
			t.Errorf("statuses = %+v", st)
		}
	})

	t.Run("invalid file: annotations at the right lines", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eInvalid})
		res := h.run(h.env("pull_request", prPayload("opened", false), map[string]string{}))
		if res.code != 1 || res.outputs["verdict"] != "invalid" || res.outputs["valid"] != "false" {
			t.Fatalf("exit %d outputs %v\n%s", res.code, res.outputs, res.stderr)
		}
		cmds := commandLines(t, res.stdout)
		want := []string{
			`::error col=3,file=.tinyforge.yml,line=3,title=tinyforge-check [unknown-key]::unknown key "prot"; did you mean "port"? (allowed under deploy: port, healthcheck, deploy_strategy)`,
			`::error col=20,file=.tinyforge.yml,line=4,title=tinyforge-check [deploy-strategy]::deploy.deploy_strategy must be "recreate" or "rolling" (case-sensitive), not "Rolling"; did you mean "rolling"?`,
		}
		if diff := cmp.Diff(want, cmds[2:]); diff != "" {
			t.Errorf("annotations (-want +got):\n%s", diff)
		}
		for _, l := range []string{
			`.tinyforge.yml:3:3: error: unknown key "prot"; did you mean "port"? (allowed under deploy: port, healthcheck, deploy_strategy) [unknown-key]`,
			`.tinyforge.yml:4:20: error: deploy.deploy_strategy must be "recreate" or "rolling" (case-sensitive), not "Rolling"; did you mean "rolling"? [deploy-strategy]`,
		} {
			if !strings.Contains(res.stdout, "\n"+l+"\n") {
				t.Errorf("stdout lacks plain line %q", l)
			}
		}
		if st := h.statuses(); len(st) != 1 || st[0].State != "failure" {
			t.Errorf("statuses = %+v", st)
		}
	})

	t.Run("no file", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		res := h.run(h.env("push", pushPayload(false), map[string]string{}))
		if res.code != 1 || res.outputs["verdict"] != "no_file" {
			t.Fatalf("exit %d outputs %v\n%s", res.code, res.outputs, res.stderr)
		}
	})

	t.Run("a symlinked file is never followed", func(t *testing.T) {
		// A PR could point .tinyforge.yml at the runner's environment (and its tokens) to
		// have the check post it in the comment.
		h := newHarness(t, bin, "github")
		if err := os.Symlink("/proc/self/environ", filepath.Join(h.ws, ".tinyforge.yml")); err != nil {
			t.Fatal(err)
		}
		res := h.run(h.env("pull_request", prPayload("synchronize", false), map[string]string{}))
		if res.code != 1 || res.outputs["verdict"] != "invalid" || !strings.Contains(res.stdout, "[not-regular-file]") {
			t.Fatalf("exit %d outputs %v\nstdout %s\nstderr %s", res.code, res.outputs, res.stdout, res.stderr)
		}
		for _, c := range h.comments() {
			if strings.Contains(c.Body, "INPUT_") || strings.Contains(c.Body, "PATH=") {
				t.Errorf("the comment carries the environment:\n%s", c.Body)
			}
		}
	})

	t.Run("GitOps disabled", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		res := h.run(h.env("push", pushPayload(false), map[string]string{"workload": "old", "fail-on": "invalid,drift,error"}))
		if res.code != 0 || res.outputs["verdict"] != "disabled" {
			t.Fatalf("exit %d outputs %v\n%s", res.code, res.outputs, res.stderr)
		}
		if st := h.statuses(); len(st) != 1 || st[0].State != "success" || !strings.Contains(st[0].Description, "disabled") {
			t.Errorf("statuses = %+v", st)
		}
	})

	t.Run("static workload declaring a port", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eStaticBad})
		res := h.run(h.env("push", pushPayload(false), map[string]string{"workload": "5"}))
		if res.code != 1 || res.outputs["verdict"] != "invalid" {
			t.Fatalf("exit %d outputs %v\n%s", res.code, res.outputs, res.stderr)
		}
		if !strings.Contains(res.stdout, "::error col=3,file=.tinyforge.yml,line=4,title=tinyforge-check [source-type]::") {
			t.Errorf("no source-type annotation at 4:3:\n%s", res.stdout)
		}
	})

	t.Run("fork PR: read-only token and no Tinyforge token", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		res := h.run(h.env("pull_request", prPayload("opened", true), map[string]string{"tinyforge-token": "", "token": readOnlyTok}))
		if res.code != 0 || res.outputs["verdict"] != "skipped" || res.outputs["valid"] != "true" {
			t.Fatalf("exit %d outputs %v\n%s\n%s", res.code, res.outputs, res.stdout, res.stderr)
		}
		if len(h.statuses()) != 0 || len(h.comments()) != 0 {
			t.Errorf("a read-only token wrote something")
		}
		for _, want := range []string{"::notice title=tinyforge-check::drift not checked: no tinyforge-token (fork PRs get no secrets); linting only",
			"::notice title=tinyforge-check::could not set the commit status: the token is read-only"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
			}
		}
		if !strings.Contains(res.summary, "lint only") {
			t.Errorf("summary:\n%s", res.summary)
		}
	})

	t.Run("Tinyforge down and 401", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eInSync})
		res := h.run(h.env("push", pushPayload(false), map[string]string{"tinyforge-token": "tfv_CANARY_0f9d8e7c6b5a-wrong"}))
		if res.code != 3 || res.outputs["verdict"] != "error" {
			t.Fatalf("401: exit %d outputs %v\n%s", res.code, res.outputs, res.stdout)
		}
		if !strings.Contains(res.stdout, "401") {
			t.Errorf("401 not reported:\n%s", res.stdout)
		}
		if st := h.statuses(); len(st) != 1 || st[0].State != "error" {
			t.Errorf("statuses = %+v", st)
		}
		down := h.tf.srv.URL
		h.tf.srv.Close()
		res = h.run(h.env("push", pushPayload(false), map[string]string{"tinyforge-url": down, "fail-on": "invalid"}))
		if res.code != 0 || res.outputs["verdict"] != "error" {
			t.Fatalf("down: exit %d outputs %v\n%s", res.code, res.outputs, res.stdout)
		}
	})

	t.Run("values that try to inject workflow commands or break the markdown", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		file := "# </pre></details><img src=x onerror=alert(1)> @octocat\n" +
			"version: 1\ndeploy:\n  \"::add-mask::x\": 1\n  \"##[set-output name=verdict;]in_sync\": 2\n  healthcheck: \"/a|b`<b>\"\n"
		h.writeWorkspace(map[string]string{".tinyforge.yml": file})
		res := h.run(h.env("pull_request", prPayload("opened", false), map[string]string{}))
		if res.code != 1 || res.outputs["verdict"] != "invalid" {
			t.Fatalf("exit %d outputs %v\n%s", res.code, res.outputs, res.stdout)
		}
		commandLines(t, res.stdout) // fails on any unexpected command
		cs := h.comments()
		if len(cs) != 1 {
			t.Fatalf("comments = %d", len(cs))
		}
		for _, bad := range []string{"<img", "<b>", "@octocat", "</pre></details><"} {
			if strings.Contains(cs[0].Body, bad) || strings.Contains(res.summary, bad) {
				t.Errorf("comment or summary contains %q", bad)
			}
		}
	})

	t.Run("a comment over 65,536 characters is cut with a note", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		big := "version: 1\ndeploy:\n  port: 9090\n" + strings.Repeat("# <&>@<&>@<&>@<&>@<&>@<&>@<&>@<&>@<&>@\n", 1600)
		h.writeWorkspace(map[string]string{".tinyforge.yml": big})
		res := h.run(h.env("pull_request", prPayload("opened", false), map[string]string{}))
		if res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		cs := h.comments()
		if len(cs) != 1 || len([]rune(cs[0].Body)) >= 65536 || !strings.Contains(cs[0].Body, "too large to show here; it is in the job summary") {
			t.Fatalf("comment: %d comments, %d chars", len(cs), len([]rune(cs[0].Body)))
		}
		if !strings.Contains(res.summary, "&lt;&amp;&gt;@\u200b") || len(res.summary) >= 1<<20 {
			t.Errorf("summary lacks the file or is too large: %d bytes", len(res.summary))
		}
	})

	t.Run("pull_request_target reads the PR head through the API", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eInSync}) // the base branch checkout
		h.setFile(e2eHead, ".tinyforge.yml", e2eDrift)
		h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
		res := h.run(h.env("pull_request_target", prPayload("opened", true), map[string]string{}))
		if res.code != 0 || res.outputs["verdict"] != "drift" || res.outputs["sync-url"] != pinned(h, e2eDrift, e2eHead) {
			t.Fatalf("exit %d outputs %v\n%s", res.code, res.outputs, res.stdout)
		}
	})

	t.Run("usage errors and the default command", func(t *testing.T) {
		h := newHarness(t, bin, "github")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eInSync})
		res := h.run(h.env("push", pushPayload(false), map[string]string{"fail-on": "warnings"}))
		if res.code != 2 || !strings.Contains(res.stderr, "fail-on") {
			t.Errorf("bad fail-on: exit %d, stderr %q", res.code, res.stderr)
		}
		env := h.env("push", pushPayload(false), map[string]string{})
		res = h.run(env) // no arguments under GITHUB_ACTIONS=true: the action
		if res.code != 0 || res.outputs["verdict"] != "in_sync" {
			t.Errorf("default command: exit %d outputs %v %s", res.code, res.outputs, res.stderr)
		}
		delete(env, "GITHUB_ACTIONS")
		res = h.run(env, "action")
		if res.code != 2 || strings.Contains(res.stdout, "::add-mask::") {
			t.Errorf("outside CI: exit %d, stdout %q", res.code, res.stdout)
		}
	})
}

func testActionGitea(t *testing.T, bin string) {

	t.Run("drift on a PR (synchronized): warning status and a comment", func(t *testing.T) {
		h := newHarness(t, bin, "gitea")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
		h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
		env := h.env("pull_request", prPayload("synchronized", false), map[string]string{})
		env["GITHUB_SHA"] = e2eHead // Gitea sets the head on PRs
		res := h.run(env)
		if res.code != 0 || res.outputs["verdict"] != "drift" {
			t.Fatalf("exit %d outputs %v\n%s\n%s", res.code, res.outputs, res.stdout, res.stderr)
		}
		if st := h.statuses(); len(st) != 1 || st[0].State != "warning" || st[0].SHA != e2eHead {
			t.Errorf("statuses = %+v", st)
		}
		cs := h.comments()
		if len(cs) != 1 || cs[0].Author != botLogin || !strings.Contains(cs[0].Body, "changed by this PR") {
			t.Fatalf("comments = %+v", cs)
		}
		writes := h.writeCount()
		env2 := h.env("pull_request", prPayload("synchronized", false), map[string]string{})
		env2["GITHUB_SHA"] = e2eHead
		if res := h.run(env2); res.code != 0 || h.writeCount()-writes != 1 {
			t.Errorf("rerun: exit %d, %d writes, want 1 (the status)", res.code, h.writeCount()-writes)
		}
	})

	t.Run("in sync on a push without head_commit", func(t *testing.T) {
		h := newHarness(t, bin, "gitea")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eInSync})
		res := h.run(h.env("push", pushPayload(true), map[string]string{}))
		if res.code != 0 || res.outputs["verdict"] != "in_sync" {
			t.Fatalf("exit %d outputs %v\n%s", res.code, res.outputs, res.stderr)
		}
		if st := h.statuses(); len(st) != 1 || st[0].SHA != e2ePush || st[0].State != "success" {
			t.Errorf("statuses = %+v", st)
		}
	})

	t.Run("invalid file and a fork's read-only token", func(t *testing.T) {
		h := newHarness(t, bin, "gitea")
		h.writeWorkspace(map[string]string{".tinyforge.yml": e2eInvalid})
		res := h.run(h.env("pull_request", prPayload("opened", true), map[string]string{"tinyforge-token": "", "token": readOnlyTok}))
		if res.code != 1 || res.outputs["verdict"] != "invalid" {
			t.Fatalf("exit %d outputs %v\n%s", res.code, res.outputs, res.stderr)
		}
		if !strings.Contains(res.stdout, "::error col=3,file=.tinyforge.yml,line=3,") || len(h.statuses()) != 0 {
			t.Errorf("stdout:\n%s", res.stdout)
		}
	})
}

func testActionGitLab(t *testing.T, bin string) {
	h := newHarness(t, bin, "gitlab")
	h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
	h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
	env := h.gitlabEnv(map[string]string{
		"CI_COMMIT_SHA": e2eHead, "CI_PIPELINE_ID": "55", "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_DIFF_BASE_SHA": e2eBase,
		"CI_MERGE_REQUEST_PROJECT_ID": "9", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "9",
	})
	res := h.run(env, "action")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if strings.Contains(res.stdout, "::add-mask::") {
		t.Errorf("masks printed outside GitHub Actions:\n%s", res.stdout)
	}
	want := []e2eStatus{{SHA: e2eHead, State: "success", Context: "tinyforge/gitops", Description: "1 field differs from live: Sync required",
		TargetURL: fmt.Sprintf("%s/apps/3?file=%s&commit=%s#gitops", h.tf.srv.URL, gitops.FileSHA([]byte(e2eDrift)), e2eHead)}}
	if diff := cmp.Diff(want, h.statuses()); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	cs := h.comments()
	if len(cs) != 1 || !strings.HasPrefix(cs[0].Body, "<!-- tinyforge-check:tinyforge/gitops run=55 -->\n") || !strings.Contains(cs[0].Body, "changed by this PR") {
		t.Fatalf("notes = %+v", cs)
	}
	if !strings.Contains(res.stdout, "tinyforge-check: drift: 1 field differs from live: Sync required") {
		t.Errorf("stdout:\n%s", res.stdout)
	}
}
