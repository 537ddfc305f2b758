package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/checkwire"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// TestGiteaMergedPRComment lives the loop on the real Gitea with the reference server: the check
// on a PR writes its comment (link naming the PR); the PR is merged through Gitea's API; the check
// on the push of the merge commit finds that PR (GET …/commits/{sha}/pull) and edits the same
// comment to "Merged in abc1234 — ready to Sync", pinned to the merge commit; after the Sync the
// push run again makes it say live matches. The PR head, before the merge, merged nothing.
func TestGiteaMergedPRComment(t *testing.T) {
	requireWorld(t)
	g := w.gitea
	const inSync = "version: 1\ndeploy:\n  port: 8080\n"
	const drifting = "version: 1\ndeploy:\n  port: 9090\n"
	f := newFixture(t, false, map[string]string{".tinyforge.yml": inSync})
	srv := startRefServer(t)
	wl := srv.workload(t, "web", f.owner.user, f.repo, f.botToken, `{"port":8080,"dockerfile_path":"Dockerfile"}`)
	f.openPR(t, ".tinyforge.yml", drifting)
	ctx := context.Background()

	tf, err := tinyforge.NewClient(srv.url, srv.viewerToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := checkwire.OpenRepo(checker.ForgeGitea, providers.Options{BaseURL: g.url, Token: f.botToken, VerifyDelay: -1,
		HTTPClient: providers.NewHTTPClient(providers.HTTPConfig{})}, f.owner.user, f.repo)
	if err != nil {
		t.Fatal(err)
	}
	chk := &checker.Checker{Live: checkwire.Live(tf), Files: repo, Status: repo, Comments: repo}
	run := func(runID int64, ev checker.Event) *checker.Report {
		t.Helper()
		r, err := chk.Run(ctx, checker.Inputs{Workload: "web", FailOn: checker.DefaultFailOn, Forge: checker.ForgeGitea,
			Event: ev, RunID: runID, Secrets: []string{srv.viewerToken, f.botToken}})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range r.Notices {
			t.Logf("run %d: %s: %s", runID, n.Level, n.Message)
		}
		return r
	}

	// 1. The PR run: drift, one comment, the link names the PR.
	r := run(1, checker.Event{Name: checker.EventPullRequest, CommitSHA: f.head,
		PR: &checker.PullRequest{Number: f.number, HeadSHA: f.head, BaseSHA: f.base}})
	if r.Verdict != checker.VerdictDrift || !strings.HasSuffix(r.SyncURL, fmt.Sprintf("&pr=%d#gitops", f.number)) {
		t.Fatalf("PR run: verdict %s, sync URL %s", r.Verdict, r.SyncURL)
	}
	cs := f.botComments(t)
	if len(cs) != 1 {
		t.Fatalf("after the PR run, our comments: %+v", cs)
	}
	id := cs[0].ID
	if got, err := repo.MergedPulls(ctx, f.head); err != nil || len(got) != 0 {
		t.Errorf("before the merge, the PR head merged %v (%v); want none", got, err)
	}

	// 2. Merge the PR on Gitea, then the push run on the merge commit.
	// Gitea checks a new PR's mergeability in the background and answers 405 until it has.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, body := g.call(t, f.owner, "POST", fmt.Sprintf("/repos/%s/%s/pulls/%d/merge", f.owner.user, f.repo, f.number),
			map[string]any{"Do": "merge"})
		if code == http.StatusOK {
			break
		}
		if code != http.StatusMethodNotAllowed || time.Now().After(deadline) {
			t.Fatalf("merge PR %d: %d %s", f.number, code, body)
		}
	}
	var pr struct {
		Merged         bool   `json:"merged"`
		MergeCommitSHA string `json:"merge_commit_sha"`
	}
	g.must(t, tokenAuth(f.botToken), "GET", fmt.Sprintf("/repos/%s/%s/pulls/%d", f.owner.user, f.repo, f.number), nil, http.StatusOK, &pr)
	if !pr.Merged || len(pr.MergeCommitSHA) != 40 {
		t.Fatalf("the PR is not merged: %+v", pr)
	}
	merge := pr.MergeCommitSHA
	r = run(2, checker.Event{Name: checker.EventPush, CommitSHA: merge})
	if r.Verdict != checker.VerdictDrift || len(r.Merged) != 1 || r.Merged[0].Number != f.number {
		t.Fatalf("push run: verdict %s, merged PRs %+v", r.Verdict, r.Merged)
	}
	cs = f.botComments(t)
	want := "Merged in " + gitops.ShortSHA(merge) + " — ready to Sync"
	if len(cs) != 1 || cs[0].ID != id || !strings.Contains(cs[0].Body, want) ||
		!strings.Contains(cs[0].Body, fmt.Sprintf("/apps/%d?file=%s&amp;commit=%s#gitops", wl.ID, gitops.FileSHA([]byte(drifting)), merge)) &&
			!strings.Contains(cs[0].Body, fmt.Sprintf("/apps/%d?file=%s&commit=%s#gitops", wl.ID, gitops.FileSHA([]byte(drifting)), merge)) {
		t.Fatalf("after the push run, want comment %d saying %q with the link pinned to %s: %+v", id, want, merge, cs)
	}

	// 3. Sync what the link pins, then the push run again: the PR's comment says live matches.
	admin := srv.admin
	if _, err := admin.Sync(ctx, wl.ID, tinyforge.SyncRequest{CommitSHA: merge, FileSHA: gitops.FileSHA([]byte(drifting))}); err != nil {
		t.Fatalf("sync: %v", err)
	}
	r = run(3, checker.Event{Name: checker.EventPush, CommitSHA: merge})
	if cs = f.botComments(t); r.Verdict != checker.VerdictInSync || len(cs) != 1 ||
		!strings.Contains(cs[0].Body, "Merged in "+gitops.ShortSHA(merge)+" — live matches it: nothing to Sync") {
		t.Errorf("after the Sync: verdict %s, comments %+v", r.Verdict, cs)
	}
}
