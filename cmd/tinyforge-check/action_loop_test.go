package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge"
	"github.com/tinyforge/tinyforge-check/tinyforge/server"
)

// loopSpecs loads GitHub's and Gitea's API descriptions once per test binary.
var loopSpecs forgefake.Specs

// serverForge adapts a provider to the reference server's Forge, as cmd/tinyforge-server does.
type serverForge struct {
	p interface {
		BranchHead(ctx context.Context, owner, repo, branch string) (string, error)
		DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error)
	}
}

func (f serverForge) BranchHead(ctx context.Context, owner, repo, branch string) (string, error) {
	return f.p.BranchHead(ctx, owner, repo, branch)
}

func (f serverForge) DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error) {
	b, err := f.p.DownloadFile(ctx, owner, repo, ref, path, maxBytes)
	switch {
	case errors.Is(err, forge.ErrFileNotFound):
		return nil, fmt.Errorf("%w: %w", server.ErrFileNotFound, err)
	case errors.Is(err, forge.ErrFileTooLarge):
		return nil, fmt.Errorf("%w: %w", server.ErrFileTooLarge, err)
	}
	return b, err
}

// TestActionFullLoop runs the whole loop of docs/design.md (The loop) with the built binary, the reference
// Tinyforge server (SQLite) and the stateful fake GitHub validating every request and answer
// against GitHub's OpenAPI description: a PR changes the port, the action reports drift on
// the PR (its link names the PR); after the merge the push run reports drift pinned to the
// merged commit and rewrites the merged PR's comment to "ready to Sync"; the admin Syncs exactly
// that through the link's file and commit; the next run is in sync and the PR's comment says so.
func TestActionFullLoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin := buildAction(t, t.TempDir())
	gh := forgefake.NewGitHub(t, forgefake.Options{Spec: loopSpecs.GitHub(t)})
	const repoToken, botToken = "ghp_REPO_READ_CANARY_11", forgeCanary
	gh.AddToken(repoToken, forgefake.Token{Login: "tinyforge-reader"})
	gh.AddToken(botToken, forgefake.Token{Login: botLogin})
	base := gh.PutFile("o", "r", "main", ".tinyforge.yml", []byte(e2eInSync))
	gh.PutFile("o", "r", "feature", ".tinyforge.yml", []byte(e2eInSync))
	head := gh.PutFile("o", "r", "feature", ".tinyforge.yml", []byte(e2eDrift))
	gh.OpenPull("o", "r", 7, "feature", "main")

	store, err := server.Open(ctx, filepath.Join(t.TempDir(), "tinyforge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cipher, err := server.NewCipher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: store, Cipher: cipher,
		OpenForge: func(provider, baseURL, token string) (server.Forge, error) {
			p, err := providers.NewGitHub(providers.Options{BaseURL: baseURL, Token: token, HTTPClient: gh.Client()})
			return serverForge{p}, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	adminSecret, _, err := store.CreateToken(ctx, "admin", server.RoleAdmin, 0)
	if err != nil {
		t.Fatal(err)
	}
	viewerSecret, _, err := store.CreateToken(ctx, "ci", server.RoleViewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := tinyforge.NewClient(hs.URL, adminSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := admin.CreateWorkload(ctx, tinyforge.CreateWorkloadRequest{Name: "web", SourceType: "dockerfile",
		SourceConfig: json.RawMessage(e2eLiveWeb),
		Repo:         &tinyforge.RepoSettings{Provider: "github", BaseURL: gh.URL(), Owner: "o", Repo: "r", Branch: "main", AccessToken: repoToken}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.SetGitOps(ctx, w.ID, tinyforge.SetGitOpsRequest{Enabled: true, Path: ".tinyforge.yml"}); err != nil {
		t.Fatal(err)
	}

	h := &harness{t: t, bin: bin, ws: t.TempDir()}
	// The action reads the file at the event's commit through the forge, never h.ws.
	run := func(event string, payload any) actionResult {
		t.Helper()
		dir := t.TempDir()
		ev := filepath.Join(dir, "event.json")
		b, _ := json.Marshal(payload)
		if err := os.WriteFile(ev, b, 0o644); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": ev, "GITHUB_REPOSITORY": "o/r",
			"GITHUB_SHA": "ffffffffffffffffffffffffffffffffffffffff", "GITHUB_RUN_ID": "200", "GITHUB_WORKSPACE": h.ws,
			"GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
			"GITHUB_API_URL": gh.URL(), "TINYFORGE_COMMENT_VERIFY_DELAY": "0s",
			"INPUT_TINYFORGE-URL": hs.URL, "INPUT_TINYFORGE-TOKEN": viewerSecret, "INPUT_WORKLOAD": "web", "INPUT_TOKEN": botToken,
		}
		res := h.run(env)
		for _, secret := range []string{viewerSecret, adminSecret, repoToken} {
			for _, place := range []string{strings.ReplaceAll(res.stdout, "::add-mask::"+viewerSecret, ""), res.stderr, res.summary, fmt.Sprint(res.outputs)} {
				if strings.Contains(place, secret) {
					t.Errorf("a token leaked: %q", place)
				}
			}
		}
		return res
	}
	pinnedFile := func(res actionResult) (file, commit string) {
		u, err := url.Parse(res.outputs["sync-url"])
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("file"), u.Query().Get("commit")
	}
	mergedComment := func(want string, commit string) {
		t.Helper()
		cs := gh.Comments("o", "r", 7)
		if len(cs) != 1 || !strings.Contains(cs[0].Body, "### 🔀 "+want) ||
			!strings.Contains(cs[0].Body, "&commit="+commit+"#gitops)") || strings.Contains(cs[0].Body, "pr=7") {
			t.Errorf("the merged PR's comment, want %q pinned to %s without pr=: %+v", want, commit, cs)
		}
	}

	// 1. The PR changes the port: drift, three-way table, status on the head.
	pr := prPayload("opened", false)
	pr["pull_request"].(map[string]any)["head"].(map[string]any)["sha"] = head
	pr["pull_request"].(map[string]any)["base"].(map[string]any)["sha"] = base
	res := run("pull_request", pr)
	if res.code != 0 || res.outputs["verdict"] != "drift" {
		t.Fatalf("PR run: exit %d outputs %v\n%s\n%s", res.code, res.outputs, res.stdout, res.stderr)
	}
	if file, commit := pinnedFile(res); file != gitops.FileSHA([]byte(e2eDrift)) || commit != head {
		t.Errorf("PR sync-url pins %s@%s", file, commit)
	}
	if !strings.Contains(res.outputs["sync-url"], "&pr=7#gitops") {
		t.Errorf("PR sync-url %s does not name PR 7", res.outputs["sync-url"])
	}
	cs := gh.Comments("o", "r", 7)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "| `deploy.port` | 8080 | 9090 | 8080 | changed by this PR |") {
		t.Fatalf("comments = %+v", cs)
	}
	if st := gh.Statuses("o", "r", head); len(st) != 1 || st[0].State != "success" || st[0].Context != "tinyforge/gitops" || st[0].TargetURL != res.outputs["sync-url"] {
		t.Errorf("statuses on the head = %+v", st)
	}

	// 2. Merge: the push run reports drift pinned to the merged commit, and tells the PR.
	merged, err := gh.MergePull("o", "r", 7)
	if err != nil {
		t.Fatal(err)
	}
	push := pushPayload(false)
	push["after"] = merged
	res = run("push", push)
	if res.code != 0 || res.outputs["verdict"] != "drift" {
		t.Fatalf("push run: exit %d outputs %v\n%s", res.code, res.outputs, res.stdout)
	}
	file, commit := pinnedFile(res)
	if commit != merged || file != gitops.FileSHA([]byte(e2eDrift)) {
		t.Errorf("push sync-url pins %s@%s, want %s", file, commit, merged)
	}
	if strings.Contains(res.outputs["sync-url"], "pr=") {
		t.Errorf("push sync-url %s names a PR", res.outputs["sync-url"])
	}
	mergedComment("Merged in "+gitops.ShortSHA(merged)+" — ready to Sync", merged)

	// 3. The admin follows the link and Syncs exactly what was reviewed.
	result, err := admin.Sync(ctx, w.ID, tinyforge.SyncRequest{CommitSHA: commit, FileSHA: file})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if diff := cmp.Diff([]tinyforge.Change{{Field: "deploy.port", From: "8080", To: "9090"}}, result.Applied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}

	// 4. The next run is in sync.
	res = run("push", push)
	if res.code != 0 || res.outputs["verdict"] != "in_sync" {
		t.Fatalf("after sync: exit %d outputs %v\n%s", res.code, res.outputs, res.stdout)
	}
	if st := gh.Statuses("o", "r", merged); len(st) != 2 || st[1].State != "success" || st[1].Description != "In sync: 2 declared fields match live" {
		t.Errorf("statuses on the merged commit = %+v", st)
	}
	mergedComment("Merged in "+gitops.ShortSHA(merged)+" — live matches it: nothing to Sync", merged)
}

// TestActionConformance runs the built binary against forgefake's Gitea (every request and
// answer validated against Gitea's swagger) and GitLab, with a fake Tinyforge: a drift PR, then
// an unchanged rerun that writes only the status.
func TestActionConformance(t *testing.T) {
	t.Parallel()
	bin := buildAction(t, t.TempDir())
	for _, kind := range []string{"github-job-token", "gitea", "gitlab"} {
		t.Run(kind, func(t *testing.T) {
			var fake interface {
				URL() string
				AddToken(string, forgefake.Token)
				PutFile(owner, name, branch, path string, content []byte) string
				Comments(owner, name string, number int) []forgefake.Comment
				Statuses(owner, name, sha string) []forgefake.Status
				Requests() []forgefake.Request
				ResetRequests()
			}
			owner, login := "o", botLogin
			if kind == "github-job-token" {
				// GitHub's job token: GET /user answers 403, comments are github-actions[bot]'s.
				fake = forgefake.NewGitHub(t, forgefake.Options{Spec: loopSpecs.GitHub(t)})
				login = "github-actions[bot]"
			} else if kind == "gitea" {
				fake = forgefake.NewGitea(t, forgefake.Options{Spec: loopSpecs.Gitea(t)})
			} else {
				owner = "group/sub" // GitLab namespaces nest
				fake = forgefake.NewGitLab(t, forgefake.Options{})
			}
			fake.AddToken(forgeCanary, forgefake.Token{Login: login, Integration: kind == "github-job-token"})
			base := fake.PutFile(owner, "r", "main", ".tinyforge.yml", []byte(e2eInSync))
			head := fake.PutFile(owner, "r", "feature", ".tinyforge.yml", []byte(e2eDrift))
			tf := newFakeTinyforge(t, tfCanary, webWorkload(""))
			h := &harness{t: t, bin: bin, ws: t.TempDir()}
			env := func(runID string) map[string]string {
				dir := t.TempDir()
				e := map[string]string{"TINYFORGE_COMMENT_VERIFY_DELAY": "0s"}
				if kind != "gitlab" {
					pr := prPayload("synchronized", false)
					pr["pull_request"].(map[string]any)["head"].(map[string]any)["sha"] = head
					pr["pull_request"].(map[string]any)["base"].(map[string]any)["sha"] = base
					ev := filepath.Join(dir, "event.json")
					b, _ := json.Marshal(pr)
					if err := os.WriteFile(ev, b, 0o644); err != nil {
						t.Fatal(err)
					}
					for k, v := range map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
						"GITHUB_EVENT_PATH": ev, "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": head, "GITHUB_RUN_ID": runID,
						"GITHUB_WORKSPACE": h.ws, "GITHUB_SERVER_URL": fake.URL(), "GITHUB_OUTPUT": filepath.Join(dir, "out"),
						"INPUT_TINYFORGE-URL": tf.srv.URL, "INPUT_TINYFORGE-TOKEN": tfCanary, "INPUT_WORKLOAD": "3", "INPUT_TOKEN": forgeCanary} {
						e[k] = v
					}
					if kind == "gitea" {
						e["GITEA_ACTIONS"] = "true"
					} else {
						e["INPUT_JOB-TOKEN"] = forgeCanary // the job token: github.token, as action.yml passes it
						e["GITHUB_API_URL"] = fake.URL()
						e["GITHUB_SHA"] = "ffffffffffffffffffffffffffffffffffffffff" // GitHub's test-merge commit
					}
					return e
				}
				for k, v := range map[string]string{"GITLAB_CI": "true", "CI_SERVER_URL": fake.URL(), "CI_PROJECT_PATH": owner + "/r",
					"CI_PROJECT_DIR": h.ws, "CI_COMMIT_SHA": head, "CI_PIPELINE_ID": runID, "CI_MERGE_REQUEST_IID": "7",
					"CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "TINYFORGE_URL": tf.srv.URL, "TINYFORGE_TOKEN": tfCanary,
					"TINYFORGE_WORKLOAD": "3", "GITLAB_TOKEN": forgeCanary} {
					e[k] = v
				}
				return e
			}
			res := h.run(env("10"), "action")
			if res.code != 0 || !strings.Contains(res.stdout, "tinyforge-check: drift: 1 field differs from live: Sync required") {
				t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			cs := fake.Comments(owner, "r", 7)
			if len(cs) != 1 || cs[0].Author != login || !strings.Contains(cs[0].Body, "| `deploy.port` | 8080 | 9090 | 8080 | changed by this PR |") {
				t.Fatalf("comments = %+v", cs)
			}
			wantState := map[string]string{"github-job-token": "success", "gitea": "warning", "gitlab": "success"}[kind]
			if st := fake.Statuses(owner, "r", head); len(st) != 1 || st[0].State != wantState || st[0].Context != "tinyforge/gitops" {
				t.Errorf("statuses = %+v", st)
			}
			fake.ResetRequests()
			if res := h.run(env("11"), "action"); res.code != 0 {
				t.Fatalf("rerun exit %d: %s", res.code, res.stderr)
			}
			var writes []string
			for _, r := range fake.Requests() {
				if r.Method != "GET" {
					writes = append(writes, r.Method+" "+r.Path)
				}
			}
			// At most: GET /user, the head and base files, one page of comments, the status.
			if len(writes) != 1 || !strings.Contains(writes[0], "/statuses/") || len(fake.Requests()) > 5 {
				t.Errorf("rerun requests %v: want one write, the status, and at most 5 forge requests", fake.Requests())
			}
			// Back in sync: the comment is refreshed, not left saying drift.
			head = fake.PutFile(owner, "r", "feature", ".tinyforge.yml", []byte(e2eInSync))
			if res := h.run(env("12"), "action"); res.code != 0 {
				t.Fatalf("in-sync run exit %d: %s", res.code, res.stderr)
			}
			if cs := fake.Comments(owner, "r", 7); len(cs) != 1 || !strings.Contains(cs[0].Body, "### ✅ Tinyforge GitOps: in sync") {
				t.Errorf("comments after the fix = %+v", cs)
			}
		})
	}
}
